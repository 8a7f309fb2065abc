/** The access token (MISTUDIO_TOKEN) kept in this browser's localStorage only. */
import { useState } from "react";
import { apiToken } from "../api/client";
import { Button, Card, Field } from "../components/ui";

export function TokenCard() {
  const [token, setToken] = useState(apiToken() ?? "");
  return (
    <Card title="Access token">
      <p className="mb-2 text-xs text-slate-400">When the studio runs with MISTUDIO_TOKEN, enter it here; it is kept in this browser only.</p>
      <div className="flex items-end gap-2">
        <Field label="Token" className="w-80">
          <input type="password" value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" />
        </Field>
        <Button
          onClick={() => {
            if (token) localStorage.setItem("mistudio.token", token);
            else localStorage.removeItem("mistudio.token");
            window.location.reload();
          }}
        >
          Save and reload
        </Button>
      </div>
    </Card>
  );
}

/**
 * A link that downloads a file the server streams (a zip of an SAE or an export). Without a studio
 * token the link itself streams it; with one the browser cannot add the Authorization header to a
 * plain link, so the file is fetched with it and handed over as a blob.
 */
import { useState, type ReactNode } from "react";
import { apiToken, errorMessage } from "../api/client";

export async function downloadWithToken(url: string, filename: string): Promise<void> {
  const token = apiToken();
  const response = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!response.ok) throw new Error(`download failed (${response.status})`);
  const href = URL.createObjectURL(await response.blob());
  const a = document.createElement("a");
  a.href = href;
  a.download = filename;
  a.click();
  URL.revokeObjectURL(href);
}

export function DownloadLink({
  url,
  filename,
  title,
  testId,
  className,
  children,
}: {
  url: string;
  filename: string;
  title: string;
  testId: string;
  className: string;
  children: ReactNode;
}) {
  const [error, setError] = useState<string | null>(null);
  return (
    <a
      href={url}
      download={filename}
      className={className}
      title={error ?? title}
      data-testid={testId}
      onClick={(e) => {
        if (!apiToken()) return; // the link streams the file itself
        e.preventDefault();
        downloadWithToken(url, filename).catch((err) => setError(errorMessage(err)));
      }}
    >
      {children}
    </a>
  );
}

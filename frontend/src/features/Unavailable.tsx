/** A detail tab the server cannot answer (404/405/501: not available yet), or its error. */
import { ApiError } from "../api/client";
import { NOT_AVAILABLE } from "../features/featureDetail";
import { Empty, ErrorLine } from "../components/ui";

export function Unavailable({ error }: { error: unknown }) {
  if (error instanceof ApiError && NOT_AVAILABLE.has(error.status)) {
    return (
      <Empty>
        Not available from this server yet ({error.status}: {error.message}).
      </Empty>
    );
  }
  return <ErrorLine error={error} />;
}

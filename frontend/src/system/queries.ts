/**
 * The System area's server state: the studio's static facts (version, database, broker, home).
 * Live machine metrics do not come from here: they arrive on the `system` socket channel
 * (ws/live's `useSystemStore`).
 */
import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import type { SystemInfo } from "../api/types";

export function useSystemInfo() {
  return useQuery({
    queryKey: ["system", "info"],
    queryFn: () => api.get<SystemInfo>("/system/info"),
    staleTime: 60_000,
  });
}

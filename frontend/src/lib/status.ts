/**
 * Job and artifact statuses as the studio reads them. The backend's statuses are pending, queued,
 * running, then one of the terminal ones; an artifact is "busy" while its job has not finished,
 * which decides whether a list polls, a card shows live progress and a delete is offered. One set
 * here, so a new status is taught to every panel at once.
 */

/** Statuses of a job (or an artifact built by one) that has not finished yet. */
export const BUSY_STATUSES: ReadonlySet<string> = new Set(["pending", "queued", "running"]);

/** Statuses after which a job's row no longer changes. */
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(["completed", "failed", "cancelled"]);

/** Whether a job or artifact with this status is still on its way (poll it, show its progress). */
export function isBusy(status: string | null | undefined): boolean {
  return !!status && BUSY_STATUSES.has(status);
}

/** Whether a list page holds anything busy: poll every few seconds until it does not. */
export function pollWhileBusy(page: { items: readonly { status: string }[] } | undefined): number | false {
  return page?.items.some((i) => isBusy(i.status)) ? 3000 : false;
}

/** Previous/next paging for the sample browsers (pages of `PAGE` rows, server-side offsets). */
import { Button } from "../components/ui";

export const PAGE = 10;

export function Pager({ page, setPage, hasNext, total }: { page: number; setPage: (p: number) => void; hasNext: boolean; total?: number | null }) {
  return (
    <div className="flex items-center gap-2 text-xs text-slate-400">
      <Button className="px-2 py-0.5" disabled={page === 0} onClick={() => setPage(page - 1)}>
        ‹ Prev
      </Button>
      <span data-testid="page">
        page {page + 1}
        {total ? ` of ${Math.max(1, Math.ceil(total / PAGE))}` : ""}
      </span>
      <Button className="px-2 py-0.5" disabled={!hasNext} onClick={() => setPage(page + 1)}>
        Next ›
      </Button>
    </div>
  );
}

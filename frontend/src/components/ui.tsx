/** Small building blocks: buttons, cards, fields, dialogs, status pills, error lines. */
import clsx from "clsx";
import { useEffect, type ButtonHTMLAttributes, type ReactNode } from "react";
import { errorMessage } from "../api/client";

type Variant = "primary" | "secondary" | "danger" | "ghost";

export function Button({
  variant = "secondary",
  className,
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant }) {
  return (
    <button
      type="button"
      {...props}
      className={clsx(
        "inline-flex items-center justify-center gap-1.5 rounded-md px-3 py-1.5 text-sm font-medium transition-colors disabled:cursor-not-allowed disabled:opacity-50",
        variant === "primary" && "bg-emerald-600 text-white hover:bg-emerald-500",
        variant === "secondary" && "border border-slate-700 bg-slate-800 text-slate-200 hover:bg-slate-700",
        variant === "danger" && "border border-rose-800 bg-rose-950 text-rose-200 hover:bg-rose-900",
        variant === "ghost" && "text-slate-300 hover:bg-slate-800",
        className,
      )}
    />
  );
}

export function Card({
  title,
  actions,
  children,
  className,
  testId,
}: {
  title?: ReactNode;
  actions?: ReactNode;
  children?: ReactNode;
  className?: string;
  testId?: string;
}) {
  return (
    <section
      data-testid={testId}
      className={clsx("rounded-lg border border-slate-800 bg-slate-900/70 p-4 shadow-sm", className)}
    >
      {(title || actions) && (
        <header className="mb-3 flex items-start justify-between gap-3">
          <div className="min-w-0 text-sm font-semibold text-slate-100">{title}</div>
          {actions && <div className="flex shrink-0 items-center gap-2">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

export function PanelHeader({ title, subtitle, actions }: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="mb-5 flex flex-wrap items-end justify-between gap-3">
      <div>
        <h1 className="text-xl font-semibold text-slate-50">{title}</h1>
        {subtitle && <p className="mt-1 text-sm text-slate-400">{subtitle}</p>}
      </div>
      {actions && <div className="flex items-center gap-2">{actions}</div>}
    </div>
  );
}

export function Field({
  label,
  hint,
  children,
  className,
}: {
  label: ReactNode;
  hint?: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  return (
    <label className={clsx("flex flex-col gap-1 text-xs text-slate-400", className)}>
      <span className="font-medium text-slate-300">{label}</span>
      {children}
      {hint && <span className="text-[11px] text-slate-500">{hint}</span>}
    </label>
  );
}

export function Stat({ label, value, testId }: { label: ReactNode; value: ReactNode; testId?: string }) {
  return (
    <div className="rounded-md bg-slate-800/60 px-3 py-2" data-testid={testId}>
      <div className="text-[11px] uppercase tracking-wide text-slate-500">{label}</div>
      <div className="mt-0.5 font-mono text-sm text-slate-100">{value}</div>
    </div>
  );
}

const STATUS_COLOURS: Record<string, string> = {
  ready: "bg-emerald-900/60 text-emerald-300 border-emerald-700",
  completed: "bg-emerald-900/60 text-emerald-300 border-emerald-700",
  running: "bg-sky-900/60 text-sky-300 border-sky-700",
  pending: "bg-amber-900/50 text-amber-300 border-amber-700",
  queued: "bg-amber-900/50 text-amber-300 border-amber-700",
  failed: "bg-rose-900/60 text-rose-300 border-rose-700",
  cancelled: "bg-slate-800 text-slate-400 border-slate-600",
  available: "bg-slate-800 text-slate-300 border-slate-600",
};

export function StatusPill({ status }: { status: string }) {
  return (
    <span
      data-testid="status"
      className={clsx(
        "inline-flex items-center rounded-full border px-2 py-0.5 text-[11px] font-medium",
        STATUS_COLOURS[status] ?? "border-slate-600 bg-slate-800 text-slate-300",
      )}
    >
      {status}
    </span>
  );
}

export function ErrorLine({ error, className }: { error: unknown; className?: string }) {
  if (!error) return null;
  return (
    <p
      role="alert"
      className={clsx("rounded-md border border-rose-900 bg-rose-950/60 px-3 py-2 text-sm text-rose-200", className)}
    >
      {errorMessage(error)}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <div className="rounded-lg border border-dashed border-slate-700 p-6 text-center text-sm text-slate-400">
      {children}
    </div>
  );
}

export function Modal({
  title,
  onClose,
  children,
  footer,
  wide,
}: {
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  wide?: boolean;
}) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <div className="fixed inset-0 z-50 flex items-start justify-center overflow-y-auto bg-black/60 p-6" onMouseDown={onClose}>
      <div
        role="dialog"
        aria-label={typeof title === "string" ? title : undefined}
        className={clsx(
          "mt-10 w-full rounded-lg border border-slate-700 bg-slate-900 shadow-xl",
          wide ? "max-w-4xl" : "max-w-xl",
        )}
        onMouseDown={(e) => e.stopPropagation()}
      >
        <header className="flex items-center justify-between border-b border-slate-800 px-5 py-3">
          <h2 className="text-base font-semibold text-slate-50">{title}</h2>
          <button type="button" aria-label="Close" className="text-slate-400 hover:text-slate-100" onClick={onClose}>
            ✕
          </button>
        </header>
        <div className="space-y-4 px-5 py-4">{children}</div>
        {footer && <footer className="flex justify-end gap-2 border-t border-slate-800 px-5 py-3">{footer}</footer>}
      </div>
    </div>
  );
}

export function Tabs<T extends string>({
  tabs,
  value,
  onChange,
}: {
  tabs: { id: T; label: string }[];
  value: T;
  onChange: (id: T) => void;
}) {
  return (
    <div role="tablist" className="flex gap-1 border-b border-slate-800">
      {tabs.map((t) => (
        <button
          key={t.id}
          role="tab"
          type="button"
          aria-selected={t.id === value}
          onClick={() => onChange(t.id)}
          className={clsx(
            "-mb-px border-b-2 px-3 py-2 text-sm",
            t.id === value
              ? "border-emerald-500 text-emerald-300"
              : "border-transparent text-slate-400 hover:text-slate-200",
          )}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}

/** Parse a numeric input value: "" -> undefined. */
export function num(value: string): number | undefined {
  if (value.trim() === "") return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** `<option>`s for saved templates, favourites marked with a star. */
/** The `<option>`s of a select over rows with ids: the value is the id, the text `label(row)` (its name by default). */
export function IdOptions<T extends { id: number | string; name?: string }>({
  items,
  label = (item) => item.name ?? String(item.id),
}: {
  items: readonly T[] | undefined;
  label?: (item: T) => string;
}) {
  return (
    <>
      {items?.map((item) => (
        <option key={item.id} value={item.id}>
          {label(item)}
        </option>
      ))}
    </>
  );
}

/** Templates as options, favourites starred. */
export function TemplateOptions({ templates }: { templates: readonly { id: number; name: string; favourite: boolean }[] | undefined }) {
  return <IdOptions items={templates} label={(t) => `${t.favourite ? "★ " : ""}${t.name}`} />;
}

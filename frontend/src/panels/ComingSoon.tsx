import { Card, PanelHeader } from "../components/ui";

export function ComingSoon({ title, issue, what }: { title: string; issue: number; what: string }) {
  return (
    <div className="max-w-2xl">
      <PanelHeader title={title} />
      <Card title="Coming soon" testId="coming-soon">
        <p className="text-sm text-slate-300">{what}</p>
        <p className="mt-2 text-sm text-slate-500">This panel arrives with issue {issue}.</p>
      </Card>
    </div>
  );
}

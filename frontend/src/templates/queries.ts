/**
 * The Templates area's server state: create, edit in place, favourite, delete, and move templates
 * in and out as one JSON file. The template list itself (`useTemplates`) is in api/hooks, since the training,
 * labelling and steering forms read it too.
 */
import type { QueryClient } from "@tanstack/react-query";
import { api } from "../api/client";
import { useApiMutation, useDelete } from "../api/hooks";
import type { ImportResult, Template, TemplateCreate, TemplateExport, TemplateKind, TemplateUpdate } from "../api/types";

/**
 * Save a template. The body may be a thunk, so a form that parses its JSON while building the body
 * gets the parse error as this mutation's error.
 */
export function useSaveTemplate(onSuccess?: (template: Template) => void) {
  return useApiMutation(
    (body: TemplateCreate | (() => TemplateCreate)) =>
      api.post<Template>("/templates", typeof body === "function" ? body() : body),
    ["templates"],
    onSuccess,
  );
}

/** Change a template in place (name, description, config): the same limits as create, one-line errors. */
export function useUpdateTemplate(onSuccess?: (template: Template) => void) {
  return useApiMutation(
    ({ id, body }: { id: number; body: TemplateUpdate | (() => TemplateUpdate) }) =>
      api.patch<Template>(`/templates/${id}`, typeof body === "function" ? body() : body),
    ["templates"],
    onSuccess,
  );
}

/** Delete a template (the mutation's variable is its id, for lists that pick one). */
export function useRemoveTemplate(onSuccess?: () => void) {
  return useApiMutation((id: number) => api.del(`/templates/${id}`), ["templates"], onSuccess);
}

/** Toggle a template's favourite flag (the mutation's variable is its id). */
export function useFavouriteTemplate() {
  return useApiMutation((id: number) => api.post<Template>(`/templates/${id}/favourite`), ["templates"]);
}

export const useDeleteTemplate = (id: number) => useDelete("templates", id);

/** Import an exported file; a name that exists already gets a new name, not an overwrite. */
export function useImportTemplates(onSuccess?: (result: ImportResult) => void) {
  return useApiMutation(
    (body: TemplateExport) => api.post<ImportResult>("/templates/import", body, { on_conflict: "rename" }),
    ["templates"],
    onSuccess,
  );
}

/** Every template (or every one of a kind) as one exportable document. */
export function fetchTemplateExport(kind: TemplateKind | "all"): Promise<TemplateExport> {
  return api.get<TemplateExport>("/templates/export", kind === "all" ? undefined : { kind });
}

/**
 * Count one use of a template loaded into a form (best effort: a failure only loses the count),
 * then refetch the template lists so the Templates panel shows the new count at once.
 */
export function markTemplateUsed(id: number, client: QueryClient): void {
  void api
    .post(`/templates/${id}/use`)
    .then(() => client.invalidateQueries({ queryKey: ["templates"] }))
    .catch(() => undefined);
}

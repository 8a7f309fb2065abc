/** A ready model and two tokenizations of it, newest first: a one-sequence probe and a corpus. */
export const MODEL = {
  id: 1,
  name: "tiny",
  status: "ready",
  tokenizer_fingerprint: "fp",
  hook_dims: { "blocks.6.hook_resid_post": 64 },
  architecture: { n_layers: 8, d_model: 64, n_params: 1000, vocab_size: 100 },
  config: {},
};
const tok = (id: number, name: string, n_sequences: number, n_tokens: number) => ({
  id, name, status: "ready", model_id: 1, tokenizer_fingerprint: "fp", n_sequences, n_tokens, max_length: 128, dataset_id: 1,
});
// Newest first, as the API lists them: the probe was tokenized after the corpus.
export const TOKENIZATIONS = [tok(3, "probe", 1, 65), tok(2, "corpus", 400, 51_200)];

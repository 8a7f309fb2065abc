"""The one base of every operation config, so a field's docstring is its documentation everywhere.

Each operation (tokenize, stream or cache activations, train, extract, label, steer, load a
model) has one pydantic config class whose fields carry a one-line docstring underneath. Pydantic
is told to read those docstrings (``use_attribute_docstrings``), so the same sentence becomes the
field's ``description`` in ``openapi.json``, in the generated TypeScript types, and in the CLI's
``--help``; there is no second table of help texts to drift.

Decisions:

- Configs are strict (``extra="forbid"``): a misspelt key in a request body, a ``--config`` file
  or a stored job config is an error naming the key, never a silently ignored setting.
- Assignments are validated (``validate_assignment``) so a config changed after it was built
  (a CLI override, ``model_copy`` aside) still holds only valid values.
- :class:`DocumentedModel` is the looser base for results and API responses: docstrings flow out,
  but a reader of a stored result tolerates fields added since it was written.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DocumentedModel(BaseModel):
    """A pydantic model whose attribute docstrings become its fields' descriptions."""

    model_config = ConfigDict(use_attribute_docstrings=True)


class OperationConfig(DocumentedModel):
    """Base of every operation's config: documented, strict, validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

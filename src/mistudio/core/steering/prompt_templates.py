"""Prompt templates: one prompt with ``{variables}``, filled from a list of values per variable.

``Write about {topic}.`` with ``topic: [cats, tides]`` is two prompts, each with its own
baseline and steered continuations, so one run shows how a feature moves text on several
subjects. The decisions:

* **Syntax** is Python's format syntax restricted to plain names: ``{topic}`` is a variable,
  ``{{`` and ``}}`` are literal braces. Anything else inside braces (``{0}``, ``{}``,
  ``{a.b}``, ``{a!r}``, ``{a:>4}``) is refused, so a value is only ever pasted in as text and a
  template cannot reach into objects; a value's own braces are never read as variables.
* **Several variables combine as a cartesian product** by default (every topic in every style:
  the usual question, "does the push hold across all of these?"), in the order the variables
  first appear in the text, the last one varying fastest. ``combine="zip"`` pairs the i-th values
  instead (a name with its pronoun), and then every list must have the same length.
* **The count is capped** at :data:`MAX_PROMPTS`, the API's prompt limit per run: a run is one job
  that generates serially, and a product grows fast (5 topics x 20 styles is 100 prompts). Above
  the cap the template is refused in one line naming the product, before anything runs.
* **Both kinds of mistake are refused**: a variable in the text with no values (missing) and
  values for a name the text does not use (unknown: usually a typo, which would otherwise
  silently run the template once per value with identical prompts), as well as an empty list.
"""

from __future__ import annotations

import itertools
import math
import string
from typing import Literal, NamedTuple

from pydantic import Field, model_validator

from mistudio.core.sae.base import StrictModel
from mistudio.errors import InvalidInputError

MAX_PROMPTS = 64
"""Most prompts one steering run takes (plain prompts and filled templates together)."""

Combine = Literal["product", "zip"]


class FilledPrompt(NamedTuple):
    """One prompt of an expanded template."""

    text: str
    """The template with every variable replaced."""
    values: dict[str, str]
    """The value each variable took (empty for a plain prompt)."""


def template_variables(text: str) -> list[str]:
    """The variable names of ``text`` in order of first appearance (each once).

    Raises :class:`InvalidInputError` for a lone brace or anything but a plain name in braces.
    """
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:  # "Single '}' encountered", "expected '}' before end of string"
        raise InvalidInputError(
            f"prompt template: {exc}; write {{{{ or }}}} for a literal brace"
        ) from None
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            shown = "{" + field + (f"!{conversion}" if conversion else "")
            shown += (f":{spec}" if spec else "") + "}"
            raise InvalidInputError(
                f"prompt template: {shown} is not a variable; name one like {{topic}} "
                "(letters, digits, _) or write {{ and }} for literal braces"
            )
        if field not in names:
            names.append(field)
    return names


class TemplatedPrompt(StrictModel):
    """A prompt with ``{variables}`` and the values to fill them with: one prompt per value (or
    per combination of values when there are several variables)."""

    text: str = Field(min_length=1, max_length=20_000)
    """The prompt, with variables in braces (``Write about {topic}.``); ``{{`` and ``}}`` are
    literal braces."""
    variables: dict[str, list[str]] = Field(default_factory=dict)
    """The values of each variable, in the order their prompts run."""
    combine: Combine = "product"
    """Several variables: ``product`` runs every combination (the last variable in the text
    varies fastest); ``zip`` pairs the i-th values of every list (all lists the same length)."""

    @model_validator(mode="after")
    def _check(self) -> TemplatedPrompt:
        names = template_variables(self.text)
        if not names:
            raise InvalidInputError(
                "prompt template has no {variable}: mark one like {topic}, or send it as a "
                "plain prompt"
            )
        unknown = [n for n in self.variables if n not in names]
        if unknown:
            raise InvalidInputError(
                f"prompt template: values given for {{{unknown[0]}}}, which the text does not "
                f"use (its variables: {', '.join(names)})"
            )
        for name in names:
            if name not in self.variables:
                raise InvalidInputError(f"prompt template: {{{name}}} has no values")
            if not self.variables[name]:
                raise InvalidInputError(f"prompt template: {{{name}}} has an empty list of values")
        if self.combine == "zip":
            lengths = {n: len(self.variables[n]) for n in names}
            if len(set(lengths.values())) > 1:
                counts = ", ".join(f"{n} has {k}" for n, k in lengths.items())
                raise InvalidInputError(
                    f"prompt template: zip pairs values, so every variable needs as many: {counts}"
                )
        count = self.count()
        if count > MAX_PROMPTS:
            how = " x ".join(str(len(self.variables[n])) for n in names)
            made = f"{how} = {count}" if len(names) > 1 else str(count)
            raise InvalidInputError(
                f"prompt template makes {made} prompts; a run takes at most {MAX_PROMPTS}"
            )
        return self

    def names(self) -> list[str]:
        """The variables in order of first appearance."""
        return template_variables(self.text)

    def count(self) -> int:
        """How many prompts :meth:`expand` makes."""
        lengths = [len(self.variables.get(n, [])) for n in self.names()]
        if self.combine == "zip":
            return min(lengths, default=0)
        return math.prod(lengths)

    def expand(self) -> list[FilledPrompt]:
        """Every filled prompt, in run order."""
        names = self.names()
        columns = [self.variables[n] for n in names]
        rows = zip(*columns, strict=True) if self.combine == "zip" else itertools.product(*columns)
        out = []
        for row in rows:
            values = dict(zip(names, row, strict=True))
            out.append(FilledPrompt(self.text.format_map(values), values))
        return out

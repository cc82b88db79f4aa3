"""Natural-language vocabulary of a planning domain, in PlanBench's YAML config format.

A vocabulary maps PDDL action and predicate names to templates with ``{}`` slots (filled in
parameter order) and PDDL object names to words ("a" -> "red block"). Everything here is
driven by the config: Blocksworld, Mystery and Randomized Blocksworld are the same code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError

_SLOT = "{}"


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def join_facts(parts: Sequence[str]) -> str:
    """PlanBench's list style: "x, y and z"."""
    parts = [p for p in parts if p]
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


@dataclass
class Vocabulary:
    """Templates for one domain. Keys are lowercase PDDL names."""

    name: str
    intro: str
    actions: dict[str, str]
    predicates: dict[str, str]
    objects: dict[str, str] = field(default_factory=dict)
    # how an object slot reads back in a plan line: multi-word names ("red block") by default;
    # ``(\S+)`` for vocabularies whose objects are PDDL names (generated ones)
    slot_pattern: str = r"(.+?)"
    # predicate name -> the rule used when its template is empty (PlanBench leaves type
    # predicates such as Logistics' "truck" empty: silent in states, but named in critiques)
    fallback_predicates: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_yaml(cls, path: str | Path, name: str | None = None) -> Vocabulary:
        import yaml

        path = Path(path)
        try:
            data: dict[str, Any] = yaml.safe_load(path.read_text())
        except FileNotFoundError:
            raise InputError(f"vocabulary file not found: {path}") from None
        except yaml.YAMLError as exc:
            raise InputError(f"malformed vocabulary YAML {path}: {exc}".splitlines()[0]) from None
        try:
            return cls(
                name=name or str(data.get("domain_name") or path.stem),
                intro=str(data.get("domain_intro", "")).strip(),
                actions={str(k).lower(): str(v) for k, v in data["actions"].items()},
                predicates={str(k).lower(): str(v) for k, v in data["predicates"].items()},
                objects={str(k).lower(): str(v) for k, v in (data.get("encoded_objects") or {}).items()},
            )
        except (KeyError, AttributeError, TypeError) as exc:
            raise InputError(f"vocabulary {path} lacks 'actions' or 'predicates': {exc}") from None

    def matches(self, action_names: Iterable[str], predicate_names: Iterable[str]) -> bool:
        """True when this vocabulary covers exactly the given PDDL signature."""
        return set(self.actions) == {a.lower() for a in action_names} and set(self.predicates) == {
            p.lower() for p in predicate_names
        }

    # -- objects ---------------------------------------------------------------------------
    def _common_word(self) -> tuple[str, str] | None:
        """A word every object name shares as prefix or suffix ("block", "object"), if any."""
        names = [n.split() for n in self.objects.values() if "{" not in n]
        if len(names) < 2 or any(len(n) < 2 for n in names):
            return None
        if len({n[-1] for n in names}) == 1:
            return ("suffix", names[0][-1])
        if len({n[0] for n in names}) == 1:
            return ("prefix", names[0][0])
        return None

    def _templated(self, obj: str) -> str | None:
        """PlanBench's templated object names: {"l": "location_{}_{}"} renders l1-0 as location_1_0."""
        m = re.match(r"[a-z]+", obj)
        template = self.objects.get(m.group(0)) if m else None
        if m is None or template is None or _SLOT not in template:
            return None
        numbers = re.findall(r"\d+", obj[m.end() :])
        if len(numbers) != template.count(_SLOT) or re.sub(r"[\d\W_]", "", obj[m.end() :]):
            return None
        return template.replace(_SLOT, "{}").format(*numbers)

    def object_name(self, obj: str) -> str:
        obj = obj.lower()
        word = self.objects.get(obj)
        if word is not None and "{" not in word:
            return word
        templated = self._templated(obj)
        if templated is not None:
            return templated
        common = self._common_word()
        if common is None:
            return obj
        where, w = common
        return f"{obj} {w}" if where == "suffix" else f"{w} {obj}"

    def object_aliases(self, objects: Iterable[str]) -> dict[str, str]:
        """Every way a plan may name an object -> the PDDL name.

        The PDDL name, the vocabulary name ("red block"), with a leading "the", and the name
        without the word all objects share ("red"), where that is unambiguous.
        """
        objects = [o.lower() for o in objects]
        aliases: dict[str, str] = {}
        short: dict[str, list[str]] = {}
        common = self._common_word()
        for obj in objects:
            full = _norm(self.object_name(obj))
            for alias in (full, "the " + full):
                aliases.setdefault(alias, obj)
            if common is not None:
                where, w = common
                words = full.split()
                stripped = words[:-1] if where == "suffix" and words[-1] == w else words
                stripped = stripped[1:] if where == "prefix" and stripped and stripped[0] == w else stripped
                if stripped and stripped != words:
                    short.setdefault(" ".join(stripped), []).append(obj)
        for alias, objs in short.items():
            if len(objs) == 1:
                aliases.setdefault(alias, objs[0])
                aliases.setdefault("the " + alias, objs[0])
        for obj in objects:  # PDDL names win over everything
            aliases[obj] = obj
        return aliases

    # -- rendering ---------------------------------------------------------------------------
    def fill(self, template: str, args: Sequence[str]) -> str:
        out = template
        for arg in args:
            out = out.replace(_SLOT, self.object_name(arg), 1)
        return out

    def action(self, name: str, args: Sequence[str]) -> str:
        template = self.actions.get(name.lower())
        if template is None:
            return f"({' '.join([name, *args])})"
        return self.fill(template, args)

    def fact(self, pred: str, args: Sequence[str], required: bool = False) -> str:
        """The fact in words; "" for an empty template (a silent fact) unless ``required``, which
        renders it with ``fallback_predicates`` or as "pred arg ..."."""
        template = self.predicates.get(pred.lower())
        if template is None:
            return f"({' '.join([pred, *args])})"
        if not template.strip() and required:
            template = self.fallback_predicates.get(pred.lower()) or " ".join([pred.lower(), *[_SLOT] * len(args)])
        return self.fill(template, args)

    def negated_fact(self, pred: str, args: Sequence[str]) -> str:
        """ "the blue block is not clear"; templates without "is" get "... does not hold"."""
        text = self.fact(pred, args, required=True)
        if " is " in f" {text} ":
            return re.sub(r"(^|\s)is(\s)", r"\1is not\2", text, count=1)
        return f"{text} does not hold"

    def action_patterns(self) -> list[tuple[str, re.Pattern[str], int]]:
        """(action, regex, arity) for reading natural-language plan lines back."""
        patterns = []
        for name, template in self.actions.items():
            parts = [re.escape(_norm(p)) for p in template.split(_SLOT)]
            # "the" before a slot is optional: "stack red block on top of blue block" reads too
            parts = [re.sub(r"(^|\\ )the$", r"\1(?:the)?", p) for p in parts]
            # two slots with nothing between them still need a space between the objects
            parts = [p or (r"\s" if 0 < i < len(parts) - 1 else p) for i, p in enumerate(parts)]
            body = rf"\s*{self.slot_pattern}\s*".join(parts) if len(parts) > 1 else parts[0]
            patterns.append((name, re.compile(rf"^{body}$"), len(parts) - 1))
        # most specific first: longer literal text before shorter (e.g. "unstack" before "stack")
        patterns.sort(key=lambda p: -len(p[1].pattern))
        return patterns

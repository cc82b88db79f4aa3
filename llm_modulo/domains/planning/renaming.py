"""Vocabularies drawn per example: a PDDL domain and problem with their names replaced.

A planner that reads its problem, rather than recalling one vocabulary, is trained on the same
structures under many names. :func:`rename_problem` renames the actions, predicates, types,
parameters, objects and the domain's and problem's names of a (domain, problem) pair
consistently, by one of the :data:`VOCABULARY_FAMILIES`:

* ``original``: the names as written (the domain's own words);
* ``words``: English words from :data:`WORDS` (an action or predicate may take two, joined by
  ``-``), drawn without replacement so no two symbols share a word; parameters become single
  letters, so the generated natural language labels them by their (renamed) type;
* ``random``: random strings of letters and digits, as in PlanBench's Randomized Mystery
  Blocksworld (parameters too).

No drawn name is one of :func:`held_out_names`: the words of every vocabulary and domain file
shipped in the package's domain data folders (so the test vocabularies, Mystery and Randomized
Mystery Blocksworld among them, are never trained on), nor a PDDL keyword.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from llm_modulo.domains.planning.render import rename_symbols
from llm_modulo.errors import InputError

VOCABULARY_FAMILIES = ("original", "words", "random")
# Nouns, verbs and adjectives that read as names (no prepositions: the generated natural
# language reads a two-place predicate named by one as "x is at y").
WORDS = tuple(
    """
    amber anchor apple arch arrow ash aspen badge bagel bake bamboo banjo barley barn basil basket
    beacon bean bell bench berry birch biscuit blade blend bloom bolt bonnet boot bottle bowl braid
    branch brass bread breeze brick bridge brim broom brush bucket bulb bundle burrow butter button
    cabin cactus cake camel candle canoe canyon carpet carrot castle cedar cellar chalk charm cherry
    chime cider cinder clay cliff cloak clover coast cobble cocoa comet copper coral cork cotton
    crane crater crayon creek crest crumb crystal cup curtain cypress daisy dew dial diamond dock
    dome dough dove drift drum dune eagle easel echo elbow elm ember emerald fable falcon feather
    fern ferret fig flame flask fleece flint flute foam forge fossil fox frost fudge garden garlic
    gate gem ginger glacier glade glove goose gourd grain granite grape gravel grove gull hammer
    harbor harp hatch hawk hearth hedge helmet herb hive honey hoop horn husk igloo inlet iris ivory
    ivy jade jam jar jelly jewel jungle kayak kettle kiln kite knot ladder lagoon lamp lantern larch
    latch lava leaf ledge lemon lens lily lime linen lizard locket lodge loom lotus lute magnet
    mango maple marsh mast meadow melon mesa mill mint mirror mitten moss moth mound mural nectar
    needle nest nickel nutmeg oak oar oasis olive orchid otter owl paddle palm panda parcel parsley
    pastry peach pearl pebble pepper petal piano pickle pillow pine pipe plum pond poppy porch
    potato pottery prism pulley pumpkin quill quilt radish raft rain rake reed reef ribbon ridge
    river robin rope rose rudder rust saddle sage sail salmon sand satin scarf shell shore shovel
    silk silver sled slate sleeve slope smoke snail sorrel spade spice spire sponge spool spruce
    squash stable staff steam stone straw stream sugar summit swan sweater syrup tablet tack
    tangle teapot thistle thorn thread thyme tide timber tin toast tomato torch tower trellis trout
    tulip tundra tunnel turnip twig valley vane vase velvet vessel violet walnut wand wave wax
    whisk willow window wool wreath yarn yeast yew zinc acorn bramble hazel juniper lilac mallow
    muffin nutshell oyster pelican quartz rhubarb saffron tamarind umber wicker
    """.split()
)
_KEYWORDS = frozenset(
    "define domain problem requirements types constants predicates action parameters precondition "
    "effect and or not either object objects init goal forall exists when imply".split()
)
_ALNUM = string.ascii_lowercase + string.digits


@cache
def held_out_names() -> frozenset[str]:
    """Every word of the package's shipped vocabularies and domain files, lowercased."""
    package = Path(__file__).resolve().parents[1]
    words: set[str] = set(_KEYWORDS)
    for path in [*package.glob("*/data/**/vocabulary.yaml"), *package.glob("*/data/**/domain.pddl")]:
        words.update(re.findall(r"[a-z0-9]+", path.read_text().lower()))
    return frozenset(words)


@dataclass
class _Draw:
    """Draws fresh names of one family for one example; never the same name twice."""

    family: str
    rng: random.Random
    pool: list[str]
    used: set[str]

    def word(self) -> str:
        if not self.pool:
            raise InputError("the word list ran out of names for this problem")
        return self.pool.pop()

    def random_string(self, low: int, high: int) -> str:
        while True:
            first = self.rng.choice(string.ascii_lowercase)  # PDDL names start with a letter
            name = first + "".join(self.rng.choice(_ALNUM) for _ in range(self.rng.randint(low, high) - 1))
            if name not in self.used and name not in held_out_names():
                self.used.add(name)
                return name

    def name(self, parts: int = 1) -> str:
        """A symbol's new name: 1 word (or 1 or 2, for ``parts=2``), or a random string."""
        if self.family == "words":
            return "-".join(self.word() for _ in range(self.rng.randint(1, parts)))
        return self.random_string(6, 16) if parts > 1 else self.random_string(3, 8)

    @staticmethod
    def parameter(index: int) -> str:
        """One letter (the generated language then labels the parameter by its type, not its name)."""
        return "?" + string.ascii_lowercase[index % 26] + ("" if index < 26 else str(index // 26))


def renaming(problem: Any, family: str, rng: random.Random) -> dict[str, str]:
    """Old symbol -> new symbol for every name of ``problem`` (a loaded ``PlanningProblem``) under ``family``."""
    if family not in VOCABULARY_FAMILIES:
        raise InputError(f"unknown vocabulary family {family!r}; known: {', '.join(VOCABULARY_FAMILIES)}")
    if family == "original":
        return {}
    pool = [w for w in WORDS if w not in held_out_names()]
    rng.shuffle(pool)
    draw = _Draw(family, rng, pool, set())
    names: dict[str, str] = {}
    for action in problem.action_schemas:
        names[action] = draw.name(parts=2)
    for pred in problem.predicates:
        names[pred] = draw.name(parts=2)
    for t in problem.types:
        if t != "object":  # the root type is PDDL's own
            names[t] = draw.name()
    for obj in problem.objects:
        names[obj] = draw.name()
    params = sorted({p for schema in problem.action_schemas.values() for p, _ in schema.parameters})
    order = list(range(len(params)))
    rng.shuffle(order)
    names.update({p: draw.parameter(i) for p, i in zip(params, order, strict=True)})
    names[problem.domain_name] = draw.name()
    names[problem.name] = draw.name()
    return names


def rename_problem(
    domain_text: str, problem_text: str, family: str, rng: random.Random
) -> tuple[str, str, dict[str, str]]:
    """(domain text, problem text, the renaming) with every name replaced under ``family``."""
    from llm_modulo.verifiers.planning.pddl import load_problem

    problem = load_problem(domain_text, problem_text)
    names = renaming(problem, family, rng)
    if not names:
        return domain_text, problem_text, names
    return rename_symbols(domain_text, names), rename_symbols(problem_text, names), names


__all__ = ["VOCABULARY_FAMILIES", "WORDS", "held_out_names", "rename_problem", "renaming"]

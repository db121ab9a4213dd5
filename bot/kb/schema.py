"""The shape of every file in knowledge/, declared once.

These models check one file at a time: types, required and unknown fields, id patterns, sizes.
What needs more than one file (a citation's document exists, a `related` id exists, a step's
`ask_if` names an earlier step) is checked afterwards in bot/kb/crossref.py. `htx-bot kb schema`
publishes these models as JSON Schema (docs/schema/) so an editor's YAML extension checks as you type.

Scalars are strict (YAML's unquoted `no` is a boolean, never the text "no"); lists may be written as
YAML sequences and are kept as tuples, so a loaded file cannot be changed by accident.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

ENTRY_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,47}$"
STEP_ID_PATTERN = r"^[a-z][a-z0-9_]{0,15}$"
PROVINCE_CODE_PATTERN = r"^[a-z0-9-]{2,32}$"
MAX_LABEL = 64  # characters of a button's text
MAX_TOPIC = 40  # characters of an entry's `label`: a heading in front of an answer, a button
KINDS = ("mandatory", "priority", "info")
COMMANDS = ("back", "skip", "restart", "cancel", "help")
# Placeholders a self-check text may use; anything else in braces is an error.
PLACEHOLDERS = ("alliance", "contact", "n", "period", "title")


class Model(BaseModel):
    """Base of every knowledge model: unknown fields are errors (a typo must not vanish), read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _plain(message: str) -> PydanticCustomError:
    """An error whose message is shown to editors as it is."""
    return PydanticCustomError("plain", message)


def _pattern(regex: str, message: str) -> Any:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise _plain(message)
        return value

    return AfterValidator(check)


def _placeholders(value: str) -> str:
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:
        raise _plain(f"braces are for placeholders only ({exc}); write {{{{ or }}}} for a brace") from None
    for name in names:
        if name not in PLACEHOLDERS:
            raise _plain(f"unknown placeholder {{{name}}}; use {', '.join(sorted(PLACEHOLDERS))}")
    return value


Text = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1)]
PositiveInt = Annotated[StrictInt, Field(gt=0)]
EntryId = Annotated[
    StrictStr, _pattern(ENTRY_ID_PATTERN, "lower-case ASCII, digits and '-', 2–48 characters"),
    Field(json_schema_extra={"pattern": ENTRY_ID_PATTERN}),
]
StepId = Annotated[
    StrictStr, _pattern(STEP_ID_PATTERN, "lower-case ASCII, digits and '_', at most 16 characters"),
    Field(json_schema_extra={"pattern": STEP_ID_PATTERN}),
]
ProvinceCode = Annotated[
    StrictStr, _pattern(PROVINCE_CODE_PATTERN, "use lower-case ASCII letters, digits and '-'"),
    Field(json_schema_extra={"pattern": PROVINCE_CODE_PATTERN}),
]
Label = Annotated[Text, StringConstraints(max_length=MAX_LABEL)]
TopicLabel = Annotated[Text, StringConstraints(max_length=MAX_TOPIC)]
CheckText = Annotated[Text, AfterValidator(_placeholders)]


# --- documents.yaml -------------------------------------------------------------------------------


class DocumentModel(Model):
    """A document entries may cite, with whether it is in force today."""

    number: Text
    short: Text
    title: Text
    issuer: Text
    issued: dt.date | None = None
    effective: dt.date | None = None
    expired: dt.date | None = None
    in_force: StrictBool
    replaced_by: Text | None = None
    link: Text | None = None
    province: Text | None = None
    articles: PositiveInt | None = None
    note: Text | None = None


class DocumentsFile(RootModel[tuple[DocumentModel, ...]]):
    model_config = ConfigDict(frozen=True)


# --- entries/*.yaml (format v2, docs/knowledge-format.md) -----------------------------------------


class CitationModel(Model):
    doc: Text
    article: PositiveInt | None = None
    clause: PositiveInt | None = None

    @field_validator("clause")
    @classmethod
    def _clause_needs_article(cls, clause: int | None, info: ValidationInfo) -> int | None:
        if clause is not None and "article" in info.data and info.data["article"] is None:
            raise _plain("a clause needs its article")
        return clause


class EntryModel(Model):
    """One question a member asks, answered with today's rule first (`short`)."""

    id: EntryId
    title: Text
    label: TopicLabel | None = None
    questions: tuple[Text, ...] = Field(min_length=1)
    keywords: tuple[Text, ...] = ()
    short: Text
    detail: Text | None = None
    history: Text | None = None
    history_label: Label | None = None
    unsure: Text | None = None
    editor_note: Text | None = None
    citations: tuple[CitationModel, ...] = Field(min_length=1)
    related: tuple[EntryId, ...] = ()
    province: Text | None = None


class EntriesFile(Model):
    topic: Text
    entries: tuple[EntryModel, ...] = Field(min_length=1)


# --- synonyms.yaml, synonyms/*.yaml ---------------------------------------------------------------


class SynonymsFile(Model):
    abbreviations: dict[Text, Text] = {}
    synonyms: tuple[Annotated[tuple[Text, ...], Field(min_length=2)], ...] = ()
    stopwords: tuple[Text, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, data: Any) -> Any:
        """`stopwords:` with nothing under it is YAML null: the same as leaving the section out."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


# --- intents.yaml ---------------------------------------------------------------------------------


class AllTrigger(Model):
    """One phrase of every group must appear: {all: [[tự kiểm tra, …], [thí điểm, …]]}."""

    all: tuple[Annotated[tuple[Text, ...], Field(min_length=1)], ...] = Field(min_length=1)


class IntentModel(Model):
    questions: tuple[Text, ...] = Field(min_length=1)
    keywords: tuple[Text, ...] = ()
    triggers: tuple[Text | AllTrigger, ...] = ()


class IntentsFile(Model):
    intents: dict[Text, IntentModel] = {}
    out_of_scope: tuple[Text, ...] = ()
    other_subjects: tuple[Text, ...] = ()
    cooperative_terms: tuple[Text, ...] = ()


# --- texts.yaml, ui.yaml, provinces.yaml ----------------------------------------------------------


class TextsFile(RootModel[dict[StrictStr, Text]]):
    """Every text a user reads that is not knowledge: key → Vietnamese text with {placeholders}."""

    model_config = ConfigDict(frozen=True)


Button = Annotated[tuple[Label, Text], Field(description="[label, payload]")]


class CommandModel(Model):
    action: Text
    description: Text
    hidden: StrictBool = False


class UiFile(Model):
    menu: tuple[Button, ...] = ()
    examples_text: Text | None = None
    examples: tuple[EntryId, ...] = ()
    commands: dict[Annotated[StrictStr, _pattern(r"^[a-z0-9_]{1,32}$", "a command is lower-case ASCII")],
                   CommandModel] = {}
    intent_labels: dict[Text, Label] = {}


class ProvinceModel(Model):
    code: ProvinceCode
    name: Text
    aliases: tuple[Text, ...] = ()
    merged_into: Text | None = None


class ProvincesFile(RootModel[tuple[ProvinceModel, ...]]):
    model_config = ConfigDict(frozen=True)


# --- the overlay: staff-phrasings.yaml --------------------------------------------------------------


class StaffPhrasing(Model):
    """An extra phrasing added from the staff console to an existing entry."""

    entry: Text
    question: Annotated[Text, _pattern(r"[^\n]+", "one line of text")]
    added: dt.date | None = None
    by: Text | None = None
    ticket: PositiveInt | None = None


class StaffPhrasingsFile(RootModel[tuple[StaffPhrasing, ...]]):
    model_config = ConfigDict(frozen=True)


# --- style.yaml: the editorial rules of docs/knowledge-format.md -------------------------------------


class StyleLimits(Model):
    short_words: PositiveInt
    short_sentences: PositiveInt
    detail_words: PositiveInt
    history_words: PositiveInt
    unsure_words: PositiveInt
    unsure_sentences: PositiveInt = 1


class StyleRules(Model):
    """Regular expressions (case-insensitive) the loader applies to member-visible entry fields."""

    limits: StyleLimits
    research_notes: tuple[Text, ...]
    past_markers: tuple[Text, ...]
    old_documents: tuple[Text, ...]

    @field_validator("research_notes", "past_markers", "old_documents")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise _plain(f"{pattern!r} is not a valid regular expression: {exc}") from None
        return patterns


class StyleFile(Model):
    style: StyleRules


# --- selfchecks/*.yaml ----------------------------------------------------------------------------


class OptionModel(Model):
    """One answer button: `meets` true (meets the condition), false (does not) or null (not known)."""

    id: StepId
    label: Label
    meets: StrictBool | None = None
    aliases: tuple[Text, ...] = ()
    advice: CheckText | None = None


class GroupModel(Model):
    id: StepId
    label: Label
    options: tuple[OptionModel, ...] = Field(min_length=1)
    aliases: tuple[Text, ...] = ()


class SourceModel(Model):
    doc: Text
    article: PositiveInt | None = None
    clause: PositiveInt | None = None
    part: Text | None = Field(None, description="e.g. 'mục III.2.a', for documents without articles")

    @field_validator("clause")
    @classmethod
    def _clause_needs_article(cls, clause: int | None, info: ValidationInfo) -> int | None:
        if clause is not None and "article" in info.data and info.data["article"] is None:
            raise _plain("a clause needs its article")
        return clause


class AskIf(Model):
    """Ask a step only after an earlier answer: {step, in: [answers]} or {step, not_in: [answers]}."""

    model_config = ConfigDict(populate_by_name=True)

    step: Text
    in_: tuple[Text, ...] | None = Field(None, alias="in", min_length=1)
    not_in: tuple[Text, ...] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> AskIf:
        if (self.in_ is None) == (self.not_in is None):
            raise _plain("give exactly one of in / not_in, a list of answer ids")
        return self


class StepModel(Model):
    id: StepId
    kind: Literal["mandatory", "priority", "info"]
    short: CheckText
    question: CheckText
    explanation: CheckText
    sources: tuple[SourceModel, ...] = Field(min_length=1)
    options: tuple[OptionModel, ...] | None = Field(None, min_length=1)
    options_from: Text | None = None
    option_labels: dict[StrictStr, Label] | None = None
    groups: tuple[GroupModel, ...] = ()
    ask_if: AskIf | None = None
    unmet: CheckText | None = None
    unsure: CheckText | None = None
    repealed: tuple[Text, ...] = ()


class NoteModel(Model):
    """A criterion resting on a rule no longer in force: the repealed document and what to say."""

    doc: Text
    text: CheckText


class PeriodModel(Model):
    label: CheckText
    start: dt.date
    end: dt.date

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start")
        if start is not None and start > end:
            raise _plain("is before the start")
        return end


class ProgrammeModel(Model):
    name: CheckText
    documents: tuple[Text, ...] = Field(min_length=1)
    province: Text | None = None
    period: PeriodModel
    status: Literal["auto", "open", "ended"] = "auto"
    ended_note: CheckText
    open_note: CheckText | None = None
    scope_note: CheckText | None = None


class DossierModel(Model):
    source: SourceModel
    items: tuple[CheckText, ...] = Field(min_length=1)
    note: CheckText | None = None


class ResultModel(Model):
    pass_: CheckText = Field(alias="pass")
    fail: CheckText
    unclear: CheckText
    disclaimer: CheckText

    model_config = ConfigDict(populate_by_name=True)


class SelfCheckFile(Model):
    """A self-check: questions a cooperative's director answers with buttons (docs/selfchecks.md)."""

    title: CheckText
    intro: CheckText
    kind_labels: dict[Literal["mandatory", "priority", "info"], Text] = {}
    programme: ProgrammeModel | None = None
    notes: dict[Annotated[StrictStr, _pattern(STEP_ID_PATTERN, "note ids are lower-case ASCII, digits and '_'")],
                NoteModel] = {}
    steps: tuple[StepModel, ...] = Field(min_length=1)
    dossier: DossierModel | None = None
    result: ResultModel
    offer_send: StrictBool = True
    # After the last question, ask the cooperative's name and commune (optional, kept with the result for
    # the staff report; texts sc_coop_ask / sc_coop_skip).
    ask_cooperative: StrictBool = False


class CommonFile(Model):
    """selfchecks/_common.yaml: answer sets and typed words every self-check shares."""

    option_sets: dict[Text, tuple[OptionModel, ...]] = Field(min_length=1)
    commands: dict[Literal["back", "skip", "restart", "cancel", "help"], tuple[Text, ...]]
    fillers: tuple[Text, ...] = ()


# One model per file kind, named as `htx-bot kb schema` names its output (<kind>.schema.json).
FILE_KINDS: dict[str, type[BaseModel]] = {
    "documents": DocumentsFile,
    "entries": EntriesFile,
    "synonyms": SynonymsFile,
    "intents": IntentsFile,
    "texts": TextsFile,
    "ui": UiFile,
    "provinces": ProvincesFile,
    "style": StyleFile,
    "staff-phrasings": StaffPhrasingsFile,
    "selfcheck": SelfCheckFile,
    "selfcheck-common": CommonFile,
}

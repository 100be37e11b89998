"""Block Kit checks and helpers for the loopback Slack fake (`tests/fakes/slack_api.py`).

`validate_blocks` and `validate_view` return Slack's own error strings, each ending in a
JSON pointer, e.g. "must be less than 3001 characters [json-pointer:/blocks/0/text/text]".
The fake answers messages with `invalid_blocks` (the strings in `errors` and, prefixed with
"[ERROR] ", in `response_metadata.messages`) and views with `invalid_arguments`.

Limits are Slack's documented ones (docs.slack.dev/reference/block-kit) and the slack_sdk
model validators: 50 blocks per message and 100 per view, section text 3,000 characters,
fields 10 x 2,000, header 150, button text 75, action/block ids 255, button value 2,000,
actions 25 elements, context 10, select 100 options (and option groups), checkboxes and
radio buttons 10 options, overflow 5, option text 75 and value 150, modal title 24,
private_metadata 3,000. Messages whose wording we have not seen from Slack are marked
"approximate". The checks cover the blocks and elements Parley uses; other known types are
accepted with only their ids checked.

Helpers: `fill_ids` gives blocks and elements the ids Slack would generate; `elements`
walks the interactive elements; `plain_text` flattens what a reader would see.
"""

from __future__ import annotations

import itertools
import secrets
import string
from collections.abc import Iterator
from typing import Any

__all__ = [
    "MAX_MESSAGE_BLOCKS",
    "MAX_VIEW_BLOCKS",
    "STATEFUL_ELEMENTS",
    "all_options",
    "elements",
    "fill_ids",
    "option_label",
    "plain_text",
    "validate_blocks",
    "validate_view",
]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100

BLOCK_TYPES = frozenset(
    {
        *("actions", "context", "divider", "file", "header", "image", "input"),
        *("markdown", "rich_text", "section", "video", "context_actions", "table"),
    }
)
SELECTS = frozenset({"static_select", "multi_static_select"})
OPTION_LISTS = {"checkboxes": 10, "radio_buttons": 10, "overflow": 5}
ELEMENT_TYPES = frozenset(
    {
        *("button", "checkboxes", "radio_buttons", "overflow", "static_select"),
        *("multi_static_select", "external_select", "multi_external_select", "users_select"),
        *("multi_users_select", "conversations_select", "multi_conversations_select"),
        *("channels_select", "multi_channels_select", "datepicker", "timepicker"),
        *("datetimepicker", "plain_text_input", "email_text_input", "url_text_input"),
        *("number_input", "rich_text_input", "file_input", "image", "workflow_button"),
    }
)
# Elements whose value Slack reports in `state.values`.
STATEFUL_ELEMENTS = frozenset(
    ELEMENT_TYPES - {"button", "overflow", "image", "workflow_button", "file_input"}
)
_ID_CHARS = string.ascii_letters + string.digits


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.block_ids: set[str] = set()

    def fail(self, message: str, pointer: str) -> None:
        self.errors.append(f"{message} [json-pointer:{pointer}]")

    def length(self, value: Any, limit: int, pointer: str) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.fail(f"must be less than {limit + 1} characters", pointer)

    def items(self, value: Any, limit: int, pointer: str, minimum: int = 0) -> list[Any]:
        if not isinstance(value, list):
            self.fail("must be an array", pointer)  # approximate
            return []
        if len(value) > limit:
            self.fail(f"no more than {limit} items allowed", pointer)
        elif len(value) < minimum:
            self.fail(f"must provide at least {minimum} items", pointer)  # approximate
        return value

    def required(self, obj: dict[str, Any], key: str, pointer: str) -> bool:
        if obj.get(key) in (None, ""):
            self.fail(f"missing required field: {key}", pointer)
            return False
        return True

    def text(
        self, obj: Any, pointer: str, limit: int, *, plain: bool = False, required: bool = True
    ) -> None:
        if obj is None:
            if required:
                self.fail("must provide an object", pointer)  # approximate
            return
        if not isinstance(obj, dict):
            self.fail("must provide an object", pointer)
            return
        kind = obj.get("type")
        allowed = ("plain_text",) if plain else ("plain_text", "mrkdwn")
        if kind not in allowed:
            self.fail(f"must be a valid enum value ({', '.join(allowed)})", f"{pointer}/type")
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.fail("must be more than 0 characters", f"{pointer}/text")
        self.length(text, limit, f"{pointer}/text")

    def action_id(self, element: dict[str, Any], pointer: str, seen: set[str]) -> None:
        action_id = element.get("action_id")
        self.length(action_id, 255, f"{pointer}/action_id")
        if isinstance(action_id, str):
            if action_id in seen:
                self.fail(f"duplicate action_id: {action_id}", f"{pointer}/action_id")  # approx.
            seen.add(action_id)


def validate_blocks(
    blocks: Any, *, limit: int = MAX_MESSAGE_BLOCKS, pointer: str = "/blocks"
) -> list[str]:
    """Slack's complaints about `blocks` (empty when valid)."""
    checker = _Checker()
    _check_blocks(checker, blocks, limit, pointer)
    return checker.errors


def validate_view(view: Any, *, kind: str) -> list[str]:
    """Slack's complaints about a `views.open`/`views.publish` view of `kind` modal or home."""
    checker = _Checker()
    if not isinstance(view, dict):
        checker.fail("must provide an object", "/view")
        return checker.errors
    if view.get("type") != kind:
        checker.fail(f"must be a valid enum value ({kind})", "/view/type")
    _check_blocks(checker, view.get("blocks"), MAX_VIEW_BLOCKS, "/view/blocks")
    checker.length(view.get("private_metadata"), 3000, "/view/private_metadata")
    checker.length(view.get("callback_id"), 255, "/view/callback_id")
    checker.length(view.get("external_id"), 255, "/view/external_id")
    if kind == "modal":
        checker.text(view.get("title"), "/view/title", 24, plain=True)
        checker.text(view.get("submit"), "/view/submit", 24, plain=True, required=False)
        checker.text(view.get("close"), "/view/close", 24, plain=True, required=False)
        has_input = any(b.get("type") == "input" for b in _dicts(view.get("blocks")))
        if has_input and not view.get("submit"):
            checker.fail("must provide a submit property when using input blocks", "/view")
    return checker.errors


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _check_blocks(checker: _Checker, blocks: Any, limit: int, pointer: str) -> None:
    for index, block in enumerate(checker.items(blocks, limit, pointer, minimum=1)):
        _check_block(checker, block, f"{pointer}/{index}")


def _check_block(checker: _Checker, block: Any, pointer: str) -> None:
    if not isinstance(block, dict):
        checker.fail("must provide an object", pointer)
        return
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        checker.fail(f"unsupported type: {kind}", f"{pointer}/type")
        return
    block_id = block.get("block_id")
    checker.length(block_id, 255, f"{pointer}/block_id")
    if isinstance(block_id, str):
        if block_id in checker.block_ids:
            checker.fail(f"duplicate block_id: {block_id}", f"{pointer}/block_id")  # approx.
        checker.block_ids.add(block_id)
    check = _BLOCK_CHECKS.get(kind)
    if check is not None:
        check(checker, block, pointer)


def _section(checker: _Checker, block: dict[str, Any], pointer: str) -> None:
    if block.get("text") is None and block.get("fields") is None:
        checker.fail("must define either `text` or `fields`", f"{pointer}/type")
    checker.text(block.get("text"), f"{pointer}/text", 3000, required=False)
    if block.get("fields") is not None:
        for index, field in enumerate(checker.items(block["fields"], 10, f"{pointer}/fields")):
            checker.text(field, f"{pointer}/fields/{index}", 2000)
    if block.get("accessory") is not None:
        _check_element(checker, block["accessory"], f"{pointer}/accessory", set())


def _header(checker: _Checker, block: dict[str, Any], pointer: str) -> None:
    checker.text(block.get("text"), f"{pointer}/text", 150, plain=True)


def _context(checker: _Checker, block: dict[str, Any], pointer: str) -> None:
    for index, element in enumerate(
        checker.items(block.get("elements"), 10, f"{pointer}/elements", minimum=1)
    ):
        item = f"{pointer}/elements/{index}"
        if isinstance(element, dict) and element.get("type") == "image":
            checker.length(element.get("alt_text"), 2000, f"{item}/alt_text")
        else:
            checker.text(element, item, 3000)


def _actions(checker: _Checker, block: dict[str, Any], pointer: str) -> None:
    seen: set[str] = set()
    for index, element in enumerate(
        checker.items(block.get("elements"), 25, f"{pointer}/elements", minimum=1)
    ):
        _check_element(checker, element, f"{pointer}/elements/{index}", seen)


def _image(checker: _Checker, block: dict[str, Any], pointer: str) -> None:
    if block.get("slack_file") is None and checker.required(block, "image_url", pointer):
        checker.length(block["image_url"], 3000, f"{pointer}/image_url")
    if checker.required(block, "alt_text", pointer):
        checker.length(block["alt_text"], 2000, f"{pointer}/alt_text")
    checker.text(block.get("title"), f"{pointer}/title", 2000, plain=True, required=False)


def _input(checker: _Checker, block: dict[str, Any], pointer: str) -> None:
    checker.text(block.get("label"), f"{pointer}/label", 2000, plain=True)
    checker.text(block.get("hint"), f"{pointer}/hint", 2000, plain=True, required=False)
    if checker.required(block, "element", pointer):
        _check_element(checker, block["element"], f"{pointer}/element", set())


def _markdown(checker: _Checker, block: dict[str, Any], pointer: str) -> None:
    if checker.required(block, "text", pointer):
        checker.length(block["text"], 12000, f"{pointer}/text")


_BLOCK_CHECKS = {
    "section": _section,
    "header": _header,
    "context": _context,
    "actions": _actions,
    "image": _image,
    "input": _input,
    "markdown": _markdown,
}


def _check_element(checker: _Checker, element: Any, pointer: str, seen: set[str]) -> None:
    if not isinstance(element, dict):
        checker.fail("must provide an object", pointer)
        return
    kind = element.get("type")
    if kind not in ELEMENT_TYPES:
        checker.fail(f"unsupported type: {kind}", f"{pointer}/type")
        return
    checker.action_id(element, pointer, seen)
    checker.text(
        element.get("placeholder"), f"{pointer}/placeholder", 150, plain=True, required=False
    )
    if kind == "button":
        checker.text(element.get("text"), f"{pointer}/text", 75, plain=True)
        checker.length(element.get("value"), 2000, f"{pointer}/value")
        checker.length(element.get("url"), 3000, f"{pointer}/url")
        if element.get("style") not in (None, "primary", "danger"):
            checker.fail("must be a valid enum value (primary, danger)", f"{pointer}/style")
    elif kind in SELECTS:
        _select_options(checker, element, pointer)
    elif kind in OPTION_LISTS:
        options = checker.items(element.get("options"), OPTION_LISTS[kind], f"{pointer}/options")
        _options(checker, options, f"{pointer}/options", plain=kind == "overflow")
    elif kind == "plain_text_input":
        max_length = element.get("max_length")
        if isinstance(max_length, int) and max_length > 3000:
            checker.fail("must be less than or equal to 3000", f"{pointer}/max_length")


def _select_options(checker: _Checker, element: dict[str, Any], pointer: str) -> None:
    if element.get("option_groups") is not None:
        groups = checker.items(element["option_groups"], 100, f"{pointer}/option_groups")
        for index, group in enumerate(groups):
            where = f"{pointer}/option_groups/{index}"
            if isinstance(group, dict):
                checker.text(group.get("label"), f"{where}/label", 75, plain=True)
                options = checker.items(group.get("options"), 100, f"{where}/options")
                _options(checker, options, f"{where}/options", plain=True)
        return
    options = checker.items(element.get("options"), 100, f"{pointer}/options", minimum=1)
    _options(checker, options, f"{pointer}/options", plain=True)


def _options(checker: _Checker, options: list[Any], pointer: str, *, plain: bool) -> None:
    for index, option in enumerate(options):
        where = f"{pointer}/{index}"
        if not isinstance(option, dict):
            checker.fail("must provide an object", where)
            continue
        checker.text(option.get("text"), f"{where}/text", 75, plain=plain)
        checker.length(option.get("value"), 150, f"{where}/value")
        checker.text(
            option.get("description"), f"{where}/description", 75, plain=plain, required=False
        )


# --------------------------------------------------------------------------- helpers


def _random_id(length: int = 5) -> str:
    return "".join(secrets.choice(_ID_CHARS) for _ in range(length))


def fill_ids(blocks: list[dict[str, Any]]) -> None:
    """Give blocks and interactive elements the random ids Slack adds when they are missing."""
    for block in blocks:
        if isinstance(block, dict) and block.get("type") in BLOCK_TYPES:
            block.setdefault("block_id", _random_id())
            for element in _block_elements(block):
                if element.get("type") in ELEMENT_TYPES and element.get("type") != "image":
                    element.setdefault("action_id", _random_id(4))


def _block_elements(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    kind = block.get("type")
    found: list[Any] = []
    if kind == "actions":
        found = list(block.get("elements") or [])
    elif kind == "section":
        found = [block.get("accessory")]
    elif kind == "input":
        found = [block.get("element")]
    return (element for element in found if isinstance(element, dict))


def elements(blocks: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(block, element) for every interactive element, in reading order."""
    for block in _dicts(blocks):
        for element in _block_elements(block):
            yield block, element


def option_label(option: dict[str, Any]) -> str:
    text = option.get("text")
    return str(text.get("text", "")) if isinstance(text, dict) else ""


def all_options(element: dict[str, Any]) -> list[dict[str, Any]]:
    """An element's options, flattening option groups."""
    if element.get("option_groups"):
        groups = _dicts(element["option_groups"])
        return list(itertools.chain.from_iterable(_dicts(g.get("options")) for g in groups))
    return _dicts(element.get("options"))


def plain_text(blocks: Any) -> str:
    """The words a reader sees in `blocks`, one line per text: for assertions in tests."""
    lines: list[str] = []

    def add(obj: Any) -> None:
        if isinstance(obj, dict) and isinstance(obj.get("text"), str):
            lines.append(obj["text"])

    for block in _dicts(blocks):
        kind = block.get("type")
        if kind in ("section", "header"):
            add(block.get("text"))
            for field in _dicts(block.get("fields")):
                add(field)
        elif kind == "context":
            for element in _dicts(block.get("elements")):
                add(element)
        elif kind == "input":
            add(block.get("label"))
        elif kind == "markdown" and isinstance(block.get("text"), str):
            lines.append(block["text"])
        elif kind == "rich_text":
            lines.append(_rich_text(block))
        for element in _block_elements(block):
            add(element.get("text"))
            lines.extend(option_label(o) for o in all_options(element))
    return "\n".join(line for line in lines if line)


def _rich_text(node: Any) -> str:
    if isinstance(node, dict):
        if node.get("type") == "text":
            return str(node.get("text", ""))
        return "".join(_rich_text(child) for child in node.get("elements") or [])
    return ""

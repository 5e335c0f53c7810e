"""moto's work per request made lean, its answers unchanged: what the stage's moto servers patch in.

Profiled under the benchmark's closed loop (BENCHMARKS.md, T17 and T20), moto spent much of
each call redoing work whose result cannot change while a server runs, or in loops that grow
with the size of what they handle. Each change keeps moto's own answer and is checked against
moto's own code in ``tests/system/test_moto_lean.py``:

- **dispatch** (T17): moto lists a response class's methods for every request to see whether
  the operation is one; each class is listed once.
- **a response's members** (T20): for each member of each structure of a response (ten for
  every DynamoDB ``AttributeValue``), moto asks six alias providers which keys of the result
  may hold it. For a plain ``dict`` the answer is the same for every dict of that shape, so
  it is worked out once per shape.
- **an item's size** (T20): moto checks the 400 KB limit as each attribute of a new item is
  set, summing the sizes of all attributes set so far: quadratic in the attributes. The item
  is built, then its size summed once, against moto's limit; the same items are refused.
- **receipt handles and request ids** (T20): moto draws each character of them (185 and 52)
  with its own ``random.choice``; one read of random bytes makes the same kind of string.
"""

from __future__ import annotations

import functools
import os
import string
from typing import TYPE_CHECKING, Any

import moto.core.responses
import moto.sqs.models
from moto.core.serialize import AttributePicker, AttributePickerContext, ResponseSerializer, XFormedAttributePicker
from moto.core.utils import method_names_from_class
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.utilities import bytesize

if TYPE_CHECKING:
    from collections.abc import Callable

ITEM_SIZE_LIMIT = 405_000
"""moto's limit on an item's size in bytes (its ``LimitedSizeDict``: DynamoDB's 400 KB, as moto measured it)."""
RECEIPT_HANDLE_LENGTH = 185
"""The length of moto's receipt handles (``moto.sqs.utils.generate_receipt_handle``): lowercase letters."""
REQUEST_ID_LENGTH = 52
"""The length of moto's request ids (``moto.utilities.aws_headers.gen_amzn_requestid_long``): letters, digits."""
_LOWERCASE = bytes(ord(string.ascii_lowercase[n % 26]) for n in range(256))
"""A byte's lowercase letter (every byte value onto 26 letters: the first few a little likelier, no matter here)."""
_ALPHANUMERIC = bytes(ord((string.ascii_letters + string.digits)[n % 62]) for n in range(256))
"""A byte's letter or digit."""
_PICKERS = (AttributePicker, XFormedAttributePicker)
"""moto's pickers whose choice of keys a plan stands for."""

Plan = list[tuple[str, Any, tuple[str, ...]]]
"""A structure's members in order: (member name, member shape, the keys a dict may hold it under)."""


def make_lean() -> None:
    """Every change of this module (idempotent: each is made once)."""
    make_dispatch_lean()
    make_serializer_lean()
    make_item_size_lean()
    make_random_strings_lean()


def make_dispatch_lean() -> None:
    """Each response class's methods listed once (T17), not for every request."""
    responses: Any = moto.core.responses  # moto imports the function there without re-exporting it
    if not hasattr(responses.method_names_from_class, "cache_info"):
        responses.method_names_from_class = functools.cache(method_names_from_class)


def _member_plan(picker: AttributePicker, shape: Any) -> Plan | None:
    """Each member of ``shape`` with the keys ``picker`` tries on a dict for it, asked of the picker itself.

    Each member's parent is set as moto sets it before it asks. None when a key holds a dot
    (moto reads that as a path into the value).
    """
    plan: Plan = []
    for member_key, member_shape in shape.members.items():
        member_shape.parent = shape
        keys = tuple(picker.get_possible_keys(AttributePickerContext(obj={}, key=member_key, shape=member_shape)))
        if any("." in key for key in keys):
            return None
        plan.append((member_key, member_shape, keys))
    return plan


def _moto_reads_it(serializer: Any, value: Any) -> bool:
    """Whether moto's own structure serialization must read ``value``: not a plain dict read the plain way."""
    picker = serializer._value_picker
    kind = type(serializer)
    return (
        type(value) is not dict
        or type(picker) not in _PICKERS
        or bool(picker.response_transformers)
        or kind.get_value is not ResponseSerializer.get_value
        or kind._serialize_structure_member is not ResponseSerializer._serialize_structure_member
    )


def _lean_structure(moto_structure: Callable[..., None]) -> Callable[..., None]:
    """Moto's ``_serialize_type_structure``, a plain dict read through the plan of its shape's members.

    A dict has no ``Meta`` (the explicit aliases) and one class name; every other alias
    provider reads only the member's name, its shape and that shape's parent. So the keys
    moto's picker tries for a member are the same for every dict of a shape: worked out once
    (the shape kept with them, so its id stays its own); each member's value is then the first
    of its keys the dict holds, as the picker finds it. Anything else goes to moto's own code:
    an object, a picker with response transformers or of another class, a serializer that
    reads members its own way.
    """
    plans: dict[tuple[Any, ...], tuple[Plan | None, Any]] = {}

    @functools.wraps(moto_structure)
    def lean(self: Any, serialized: dict[str, Any], value: Any, shape: Any, key: str) -> None:
        if _moto_reads_it(self, value):
            moto_structure(self, serialized, value, shape, key)
            return
        picker = self._value_picker
        known = (type(picker), tuple(picker.alias_providers), id(shape))
        entry = plans.get(known)
        if entry is None:
            entry = plans[known] = (_member_plan(picker, shape), shape)
        plan = entry[0]
        if plan is None:
            moto_structure(self, serialized, value, shape, key)
            return
        wrapper = self.MAP_TYPE() if key else serialized
        for member_key, member_shape, keys in plan:
            member_shape.parent = shape
            member_value = next((value[possible] for possible in keys if possible in value), None)
            if member_value is not None:
                self._serialize(wrapper, member_value, member_shape, member_key)
        if key:
            self._default_serialize(serialized, wrapper, shape, key)

    lean.planned = True  # type: ignore[attr-defined]
    return lean


def make_serializer_lean() -> None:
    """A dict's members read through a plan made once per shape (T20), not six alias providers per member."""
    own = ResponseSerializer.__dict__["_serialize_type_structure"]
    if not getattr(own, "planned", False):
        ResponseSerializer._serialize_type_structure = _lean_structure(own)  # type: ignore[method-assign]


def _item_init(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
    """Moto's ``Item.__init__`` with the size summed once: past ``ITEM_SIZE_LIMIT``, moto's ``ItemSizeTooLarge``."""
    self.hash_key = hash_key
    self.range_key = range_key
    values = {key: DynamoType(value) for key, value in attrs.items()}
    if sum(bytesize(key) + value.size() for key, value in values.items()) > ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict(values)  # its update, like dict's, checks nothing: the sum above did


def make_item_size_lean() -> None:
    """A new item's size summed once, not once per attribute set (T20)."""
    Item.__init__ = _item_init  # type: ignore[method-assign]


def receipt_handle() -> str:
    """A receipt handle of moto's kind: ``RECEIPT_HANDLE_LENGTH`` random lowercase letters."""
    return os.urandom(RECEIPT_HANDLE_LENGTH).translate(_LOWERCASE).decode("ascii")


def request_id(headers: dict[str, Any] | None = None) -> str:
    """A request id of moto's kind (``REQUEST_ID_LENGTH`` letters and digits), set in ``headers`` as moto sets it."""
    made = os.urandom(REQUEST_ID_LENGTH).translate(_ALPHANUMERIC).decode("ascii")
    if isinstance(headers, dict):
        headers["x-amzn-requestid"] = made
    return made


def make_random_strings_lean() -> None:
    """Receipt handles and request ids from one read of random bytes each (T20), not a draw per character."""
    sqs: Any = moto.sqs.models  # both imported by name where moto calls them
    responses: Any = moto.core.responses
    sqs.generate_receipt_handle = receipt_handle
    responses.gen_amzn_requestid_long = request_id

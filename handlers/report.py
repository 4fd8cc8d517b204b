"""The citizen's side of an anonymous report: the report flow, from the menu to a ticket.

Eight messages or taps from the menu to a ticket when nothing optional is used: menu, category,
commune typed, commune picked, where and when, description, follow-up choice (which also ends
the photo step), confirm. The commune can be typed the way people still say it, with the
district of before the 2025 reform; every step that takes text also offers Back and Cancel.
Nothing here stores who the reporter is: abuse limits count by a keyed alias, the way back for
police questions is a sealed reply handle, and only if the reporter accepts follow-up. What makes
a draft a report is :mod:`bot.reports.filing`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import timedelta

from bot.conversation.callbacks import CallbackData
from bot.conversation.flows import Flow, Interrupt
from bot.conversation.i18n import gettext as _
from bot.conversation.messages import Option
from bot.conversation.routing import Context, Router
from bot.conversation.validators import Invalid, Text, YesNo
from bot.geo import Candidate, Province
from bot.reports import (
    CATEGORIES,
    MAX_TEXT,
    URGENT_CATEGORIES,
    Address,
    Place,
    category_label,
    filing,
)
from bot.text import fold
from handlers.start import resume_kept, show_menu

router = Router("report")

MAX_PHOTOS = 5
COMMUNE_CHOICES = 40  # an old district's communes, all of them; the list is paged
EDITABLE = ("category", "commune", "where", "description")
MIN_DESCRIPTION_WORDS = 3
# What each text step goes back to.
BACK = {"commune": "category", "where": "commune", "description": "where"}
# Said at the photo step: no photo, which answers nothing about follow-up yet.
_NO_PHOTO = frozenset({"khong co anh", "khong anh", "ko co anh", "k co anh", "khong co hinh",
                       "khong chup anh", "khong co", "bo qua", "no photo", "no photos",
                       "no picture", "no pictures", "skip", "none"})


@dataclass(frozen=True, slots=True)
class ReportButton(CallbackData, prefix="rp"):
    action: str
    value: str = ""


def _button(action: str, value: str = "") -> str:
    return ReportButton(action, value).pack()


def _expired(ctx: Context) -> None:
    show_menu(ctx, _("report.expired_menu"))


FLOW = router.flow(Flow("report", label="flow.report", buttons=(ReportButton, "report"),
                        interrupt=Interrupt.SUSPEND, kept=timedelta(days=1),
                        on_expiry=_expired))


# --- entering the flow ---------------------------------------------------------------------

@router.choice("report")
async def begin(ctx: Context) -> None:
    if ctx.state is not None and ctx.state.flow == FLOW.name:
        ctx.note(_("report.continuing"))
        FLOW.reprompt(ctx)
        return
    if await resume_kept(ctx, FLOW.name):
        return
    alias = ctx.services.pseudonyms.reporter(ctx.incoming.channel, ctx.incoming.user_id)
    if await filing.limit_reached(ctx.conn, alias, ctx.services.settings, ctx.now):
        show_menu(ctx, _("report.daily_limit"))  # before anything is typed, not after
        return
    FLOW.begin(ctx)


# --- the steps, in order --------------------------------------------------------------------

@FLOW.step("category", fills="category")
def ask_category(ctx: Context) -> None:
    ctx.reply(_("report.intro"), [*(Option(category_label(c), _button("cat", c))
                                    for c in CATEGORIES),
                                  Option(_("report.cancel"), _button("cancel"))])


def _by_province() -> Option:
    return Option(_("report.by_province"), _button("provs"), keep=True)


def _back_and_cancel(step: str) -> list[Option]:
    return [Option(_("report.back"), _button("back", BACK[step]), keep=True),
            Option(_("report.cancel"), _button("cancel"), keep=True)]


@FLOW.step("commune", fills="commune")
def ask_commune(ctx: Context) -> None:
    assert ctx.state is not None
    province = ctx.state.data.get("province")
    if province is not None:
        name = next((p.name for p in ctx.services.communes.provinces() if p.code == province), "")
        ctx.reply(_("report.ask_commune_in_province", province=name),
                  [_by_province(), *_back_and_cancel("commune")])
    else:
        ctx.reply(_("report.ask_commune"), [_by_province(), *_back_and_cancel("commune")])


@FLOW.on_text("commune")
async def commune_typed(ctx: Context, text: str) -> None:
    assert ctx.state is not None
    data = ctx.state.data
    index = ctx.services.communes
    if data.get("picking_province"):
        _province_typed(ctx, text)
        return
    candidates = index.search(text, limit=COMMUNE_CHOICES, province_code=data.get("province"))
    if not candidates and "province" not in data and index.provinces_named(text):
        _province_typed(ctx, text)  # "hcm", "ho chi minh": the province, not a commune
        return
    if not candidates:
        ctx.reply(_("report.commune_not_found"),
                  [_by_province(), *_back_and_cancel("commune")])
        return
    old = candidates[0].old
    if old is not None and all(c.old == old for c in candidates):
        prompt = (_("report.commune_old_one", old=old) if len(candidates) == 1
                  else _("report.commune_old_split", old=old, count=len(candidates)))
    elif index.is_ambiguous(candidates):
        prompt = _("report.commune_ambiguous")
    else:
        prompt = _("report.commune_pick")
    ctx.reply(prompt, [*(Option(_place_label(c), _button("com", c.commune.code))
                         for c in candidates), _by_province(), *_back_and_cancel("commune")])


def _province_typed(ctx: Context, text: str) -> None:
    """The province step, typed: a name or a short form picks it; a typo offers the closest."""
    assert ctx.state is not None
    index = ctx.services.communes
    named = index.provinces_named(text)
    if len(named) == 1:
        _choose_province(ctx, named[0].code)
        return
    found = named or index.search_provinces(text)
    if found:
        ctx.reply(_("report.pick_province"),
                  [*(Option(p.name, _button("prov", p.code)) for p in found), _by_province()])
    else:
        _province_list(ctx, _("report.province_not_found"))


def _province_list(ctx: Context, text: str) -> None:
    assert ctx.state is not None
    ctx.goto("commune")
    ctx.state.data["picking_province"] = True
    provinces: list[Province] = sorted(ctx.services.communes.provinces(),
                                       key=lambda p: fold(p.name))
    ctx.reply(text, [*(Option(p.name, _button("prov", p.code)) for p in provinces),
                     *_back_and_cancel("commune")])


def _choose_province(ctx: Context, code: str) -> None:
    assert ctx.state is not None
    data = ctx.state.data
    data["province"] = code
    data.pop("picking_province", None)
    data.pop("commune", None)
    FLOW.ask(ctx, "commune")


def _place_label(candidate: Candidate) -> str:
    return f"{candidate.commune.name}, {candidate.commune.province_name}"


@FLOW.step("where", fills="where", validate=Text(2, MAX_TEXT))
def ask_where(ctx: Context) -> None:
    ctx.reply(_("report.ask_where"), _back_and_cancel("where"))


@FLOW.step("description", fills="description",
           validate=Text(1, MAX_TEXT, min_words=MIN_DESCRIPTION_WORDS))
def ask_description(ctx: Context) -> None:
    ctx.reply(_("report.ask_description"), _back_and_cancel("description"))


@FLOW.on_text("where")
@FLOW.on_text("description")
async def text_typed(ctx: Context, text: str) -> None:
    assert ctx.state is not None
    ctx.state.data[ctx.state.step] = text
    FLOW.advance(ctx)


class _Consent:
    """Yes or no to follow-up; "no photo" (None) answers only the photo half of the step."""

    def parse(self, text: str) -> bool | None:
        if fold(text).strip(" .!?") in _NO_PHOTO:
            return None
        try:
            return YesNo().parse(text)
        except Invalid:
            raise Invalid(_("report.consent_yes_no")) from None


@FLOW.step("photos", fills="follow_up", validate=_Consent())
def ask_photos(ctx: Context) -> None:
    ctx.reply(_("report.ask_photos", limit=MAX_PHOTOS), _follow_up_options())


def _follow_up_options() -> list[Option]:
    return [Option(_("report.follow_up_yes"), _button("fu", "yes")),
            Option(_("report.follow_up_no"), _button("fu", "no"))]


@FLOW.on_text("photos")
async def consent_typed(ctx: Context, accepted: bool | None) -> None:
    assert ctx.state is not None
    if accepted is None:
        ctx.reply(_("report.no_photo_then_consent"), _follow_up_options())
        return
    ctx.state.data["follow_up"] = accepted
    FLOW.advance(ctx)


@FLOW.on_files("photos")
async def photos_sent(ctx: Context) -> None:
    assert ctx.state is not None
    photos: list[str] = ctx.state.data.setdefault("photos", [])
    for attachment in ctx.incoming.attachments:
        if len(photos) >= MAX_PHOTOS:
            ctx.reply(_("report.photo_limit", limit=MAX_PHOTOS), _follow_up_options())
            return
        if attachment.refused:  # decoded, or refused, before dispatch: see middlewares
            ctx.reply(_("report.photo_rejected"), _follow_up_options())
            return
        sealed = ctx.services.keyring.seal(attachment.data, purpose="content")
        photos.append(base64.b64encode(sealed).decode("ascii"))
    ctx.reply(_("report.photo_received", count=len(photos), limit=MAX_PHOTOS),
              _follow_up_options())


@FLOW.step("confirm")
def summary(ctx: Context) -> None:
    assert ctx.state is not None
    data = ctx.state.data
    commune = ctx.services.communes.get(data["commune"])
    assert commune is not None
    text = _("report.summary",
             category=category_label(data["category"]),
             commune=commune.name, province=commune.province_name,
             where=data["where"], description=data["description"],
             photos=len(data.get("photos", [])),
             follow_up=_("report.follow_up_yes") if data["follow_up"]
             else _("report.follow_up_no"))
    if data["category"] in URGENT_CATEGORIES:
        text += "\n\n" + _("report.urgent_at_once")
    ctx.reply(text, [Option(_("report.send"), _button("send")),
                     Option(_("report.edit"), _button("edit")),
                     Option(_("report.cancel"), _button("cancel"))])


# --- the flow's buttons ---------------------------------------------------------------------

@router.choice(ReportButton)
async def pressed(ctx: Context) -> None:
    button = ctx.button(ReportButton)
    if ctx.state is None or ctx.state.flow != FLOW.name:
        if not await resume_kept(ctx, FLOW.name):
            show_menu(ctx, _("error.stale_choice"))
            return
        ctx.replies.clear()  # the draft is back: take the press as meant for it
        ctx.notes.clear()
    assert ctx.state is not None
    data = ctx.state.data
    action, value = button.action, button.value
    if action == "cancel":
        ctx.finish()
        show_menu(ctx, _("report.cancelled"))
    elif action == "cat" and value in CATEGORIES:
        data["category"] = value
        FLOW.advance(ctx)
    elif action == "com" and ctx.services.communes.get(value) is not None:
        data["commune"] = value
        FLOW.advance(ctx)
    elif action == "provs":
        _province_list(ctx, _("report.pick_province_or_type"))
    elif action == "prov" and any(p.code == value for p in ctx.services.communes.provinces()):
        _choose_province(ctx, value)
    elif action == "back" and value in BACK.values():
        data.pop("picking_province", None)
        FLOW.ask(ctx, value)
    elif action == "fu" and value in ("yes", "no"):
        data["follow_up"] = value == "yes"
        FLOW.advance(ctx)
    elif action == "edit" and value in EDITABLE:
        data.pop(value, None)
        FLOW.ask(ctx, value)
    elif action == "edit":
        ctx.reply(_("report.edit_which"), [
            Option(_(f"report.field.{field}"), _button("edit", field)) for field in EDITABLE])
    elif action == "send" and all(key in data for key in ("category", "commune", "where",
                                                           "description", "follow_up")):
        await submit(ctx)
    else:
        ctx.note(_("report.use_buttons"))
        FLOW.advance(ctx)


# --- submission -----------------------------------------------------------------------------

async def submit(ctx: Context) -> None:
    assert ctx.state is not None
    data = ctx.state.data
    services = ctx.services
    commune = services.communes.get(data["commune"])
    assert commune is not None
    ctx.finish()
    draft = filing.Draft(
        category=data["category"], commune_code=commune.code,
        province_code=commune.province_code, place=Place(commune.name, commune.province_name),
        where=data["where"], description=data["description"],
        photos=tuple(data.get("photos", [])))
    address = (Address(ctx.incoming.channel, ctx.incoming.chat_id, ctx.language)
               if data["follow_up"] else None)
    outcome = await filing.file(
        ctx.conn, draft, alias=services.pseudonyms.reporter(ctx.incoming.channel,
                                                            ctx.incoming.user_id),
        address=address, keyring=services.keyring, settings=services.settings, now=ctx.now)
    if isinstance(outcome, filing.LimitReached):
        show_menu(ctx, _("report.daily_limit"))
    elif isinstance(outcome, filing.Duplicate):
        show_menu(ctx, _("report.duplicate", ticket=outcome.ticket))
    elif outcome.routed_to is None:
        show_menu(ctx, _("report.sent_waiting", ticket=outcome.ticket,
                         passphrase=outcome.passphrase))
    else:
        show_menu(ctx, _("report.sent", ticket=outcome.ticket, passphrase=outcome.passphrase))

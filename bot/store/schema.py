"""The tables, as SQLAlchemy Core objects. Migrations under ``migrations/`` create them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from bot.store.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("role", String(16), nullable=False, default="citizen"),
    Column("language", String(5), nullable=True),
    Column("commune_code", String(16), nullable=True),
    Column("province_code", String(8), nullable=True),
    Column("unreachable", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
)

identities = Table(
    "identities",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("external_key", String(64), nullable=False),
    Column("chat_key", String(64), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("channel", "external_key", name="uq_identities_channel_external_key"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("flow", String(32), nullable=False),
    Column("step", String(32), nullable=False),
    Column("data", Text, nullable=False, default="{}"),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("chat_id", String(255), nullable=False),
    # the content, or (a round's words to many chats) the outbox_payloads row it shares
    Column("payload", Text, nullable=True),
    Column("dedupe_key", String(128), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    # a held message waits for this alias of its chat to write again (migration 0009)
    Column("held_for", String(64), nullable=True),
    # 0 crisis and check-in alerts, 1 routed reports, 2 check-ins and reminders (migration 0010)
    Column("priority", SmallInteger, nullable=False, server_default="2"),
    Column("lease_owner", String(64), nullable=True),
    # no foreign key: SQLite cannot add one to an existing table (migration 0013)
    Column("payload_id", Integer, nullable=True),
    UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
    Index("ix_outbox_held_for", "held_for", sqlite_where=text("held_for IS NOT NULL"),
          postgresql_where=text("held_for IS NOT NULL")),
    Index("ix_outbox_status_priority_due_at", "status", "priority", "due_at"),
)

outbox_payloads = Table(
    "outbox_payloads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# One sender per channel token at a time, and the platform's pause for every replica
# (migration 0010).
channel_senders = Table(
    "channel_senders",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("holder", String(64), nullable=True),
    Column("held_until", UTCDateTime, nullable=True),
    Column("paused_until", UTCDateTime, nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(64), nullable=True),
    Column("detail", Text, nullable=True),
)

# --- communes and anonymous reports (migration 0002) ---

provinces = Table(
    "provinces",
    metadata,
    Column("code", String(8), primary_key=True),
    Column("name", String(64), nullable=False),
)

communes = Table(
    "communes",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("name", String(96), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("province_code", String(8), ForeignKey("provinces.code"), nullable=False,
           index=True),
)

reports = Table(
    "reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket", String(16), nullable=False),
    Column("commune_code", String(16), ForeignKey("communes.code"), nullable=False, index=True),
    Column("province_code", String(8), nullable=False, index=True),
    Column("category", String(24), nullable=False),
    Column("status", String(16), nullable=False),
    Column("follow_up", Boolean, nullable=False),
    # where, when and what, sealed with AES-GCM bound to the ticket
    Column("content", LargeBinary, nullable=False),
    # police see the day and part of day; the hour is kept only to time escalations
    Column("received_day", Date, nullable=False),
    Column("received_part", String(12), nullable=False),
    Column("received_hour", UTCDateTime, nullable=False),
    Column("routed_level", String(12), nullable=True),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("escalated_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    # a keyed hash of the reporter's passphrase; None for reports filed before there was one
    Column("passphrase_hash", String(64), nullable=True),
    UniqueConstraint("ticket", name="uq_reports_ticket"),
)

report_attachments = Table(
    "report_attachments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report_id", Integer, ForeignKey("reports.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("image", LargeBinary, nullable=False),
)

report_messages = Table(
    "report_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report_id", Integer, ForeignKey("reports.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("kind", String(12), nullable=False),
    Column("author", String(32), nullable=True),
    Column("body", LargeBinary, nullable=False),
    Column("answered", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
)

reply_handles = Table(
    "reply_handles",
    metadata,
    Column("report_id", Integer, ForeignKey("reports.id", ondelete="CASCADE"),
           primary_key=True),
    Column("handle", LargeBinary, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

report_sources = Table(
    "report_sources",
    metadata,
    Column("report_id", Integer, ForeignKey("reports.id", ondelete="CASCADE"),
           primary_key=True),
    Column("alias", String(64), nullable=False, index=True),
    Column("text_digest", String(64), nullable=False),
    Column("received_day", Date, nullable=False),
)

slowed_reporters = Table(
    "slowed_reporters",
    metadata,
    Column("alias", String(64), primary_key=True),
    Column("until", UTCDateTime, nullable=False),
)

invites = Table(
    "invites",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("commune_code", String(16), nullable=True),
    Column("province_code", String(8), nullable=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

inboxes = Table(
    "inboxes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("chat_id", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("commune_code", String(16), nullable=True, index=True),
    Column("province_code", String(8), nullable=False, index=True),
    Column("language", String(5), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("linked_at", UTCDateTime, nullable=False),
    UniqueConstraint("channel", "chat_id", name="uq_inboxes_channel"),
)

# --- Telegram webhook replays and long button data (migration 0003) ---

seen_updates = Table(
    "seen_updates",
    metadata,
    # the primary key is the uniqueness that makes a replayed update lose the insert race
    Column("channel", String(16), primary_key=True),
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("seen_at", UTCDateTime, nullable=False, index=True),
)

# --- the inbox: updates recorded before they are acknowledged (migration 0011) ---

inbound_updates = Table(
    "inbound_updates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    # the platform's id; a second delivery of it loses the insert (NULL: none to compare)
    Column("update_id", BigInteger, nullable=True),
    Column("payload", Text, nullable=False),  # sealed, emptied once handled
    Column("state", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime, nullable=False),
    Column("handled_at", UTCDateTime, nullable=True),
    UniqueConstraint("channel", "update_id", name="uq_inbound_updates_channel_update_id"),
    Index("ix_inbound_updates_state_lease_until", "state", "lease_until"),
)

button_payloads = Table(
    "button_payloads",
    metadata,
    Column("id", String(24), primary_key=True),
    Column("data", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
)

suspended_conversations = Table(
    "suspended_conversations",
    metadata,
    # a flow set aside by an interruption, kept for /resume: one per user, sealed like the state
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("flow", String(32), nullable=False),
    Column("step", String(32), nullable=False),
    Column("data", Text, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

option_menus = Table(
    "option_menus",
    metadata,
    # what each number means on a channel without buttons: with the conversation, not in a
    # process, so it survives restarts and replicas
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("entries", Text, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

option_lists = Table(
    "option_lists",
    metadata,
    # a list too long for one message, shown a page at a time; the id is random
    Column("id", String(24), primary_key=True),
    Column("body", Text, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

key_fingerprint = Table(
    "key_fingerprint",
    metadata,
    # one row: what the master key derives for recognising itself, never the key
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("fingerprint", String(64), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
)

enrolments = Table(
    "enrolments",
    metadata,
    # a person under post-rehabilitation management (or management of use), as an officer
    # enrolled them; their name and case officer are sealed, like report text
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("commune_code", String(16), ForeignKey("communes.code"), nullable=False, index=True),
    Column("province_code", String(8), nullable=False, index=True),
    Column("name", LargeBinary, nullable=False),
    Column("case_officer", LargeBinary, nullable=True),
    Column("kind", String(16), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("cadence", String(16), nullable=False),
    Column("local_time", String(5), nullable=False),
    Column("language", String(5), nullable=False),
    Column("ask_use", Boolean, nullable=False),
    Column("status", String(12), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True,
           unique=True),
    # where check-ins go (channel, chat id), sealed like a reporter's reply handle
    Column("address", LargeBinary, nullable=True),
    Column("link_hash", String(64), nullable=True, unique=True),
    Column("link_expires_at", UTCDateTime, nullable=True),
    Column("next_due_at", UTCDateTime, nullable=True),
    Column("misses", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # the officer's own inbox when a case officer is linked (migration 0012): what concerns
    # this person alone goes there rather than to the whole commune
    Column("case_inbox_id", Integer, nullable=True),
    # the planner claims in this order: with the id in the index, a batch is a range of it
    # instead of a sort of every row due (migration 0012)
    Index("ix_enrolments_next_due_at_id", "next_due_at", "id"),
)

checkins = Table(
    "checkins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("enrolment_id", Integer, ForeignKey("enrolments.id", ondelete="CASCADE"),
           nullable=False),
    Column("slot", UTCDateTime, nullable=False),
    Column("status", String(12), nullable=False, index=True),
    # the answers are health data: sealed, bound to the enrolment
    Column("answers", LargeBinary, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("reminded", Boolean, nullable=False),
    Column("answered_at", UTCDateTime, nullable=True),
    UniqueConstraint("enrolment_id", "slot", name="uq_checkins_enrolment_id_slot"),
)

checkin_alerts = Table(
    "checkin_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("enrolment_id", Integer, ForeignKey("enrolments.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("reason", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("escalated_at", UTCDateTime, nullable=True),
)

# --- appointments and the weekly digest (migration 0012) ---

appointments = Table(
    "appointments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("enrolment_id", Integer, ForeignKey("enrolments.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    # what and where (a methadone clinic says much about a person): sealed to the enrolment
    Column("details", LargeBinary, nullable=False),
    Column("status", String(12), nullable=False),
    # what the calendar does next at ``next_at``: remind the day before, two hours before, ask
    # the officer whether the person came; None once nothing is left to do
    Column("stage", String(12), nullable=False),
    Column("next_at", UTCDateTime, nullable=True, index=True),
    Column("created_at", UTCDateTime, nullable=False),
)

digest_rounds = Table(
    "digest_rounds",
    metadata,
    # one row a week: the first scheduler to claim the week sends the digest
    Column("week", String(10), primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
)

# --- reporting deadlines (migration 0008) ---

deadline_rules = Table(
    "deadline_rules",
    metadata,
    # the rule as loaded (JSON); a rule dropped from the file stays, inactive, for its history
    Column("id", String(48), primary_key=True),
    Column("body", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    # periods due before a rule was first loaded are not chased: nobody was reminded of them
    Column("added_at", UTCDateTime, nullable=False),
    Column("loaded_at", UTCDateTime, nullable=False),
)

calendar_overrides = Table(
    "calendar_overrides",
    metadata,
    # the government's yearly swaps: a Saturday worked (True) or an extra day off (False)
    Column("day", Date, primary_key=True),
    Column("working", Boolean, nullable=False),
)

deadlines = Table(
    "deadlines",
    metadata,
    # one period of a rule (or one case), made when its first reminder is planned
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule_id", String(48), nullable=False),
    Column("period", String(32), nullable=False),
    Column("due_on", Date, nullable=False, index=True),
    Column("commune_code", String(16), nullable=True, index=True),
    Column("reference", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("rule_id", "period", name="uq_deadlines_rule_id"),
)

deadline_runs = Table(
    "deadline_runs",
    metadata,
    # a round of reminders or a digest, claimed by the one process that plans it
    Column("deadline_id", Integer, ForeignKey("deadlines.id", ondelete="CASCADE"),
           primary_key=True),
    Column("kind", String(12), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("planned_at", UTCDateTime, nullable=False),
)

deadline_submissions = Table(
    "deadline_submissions",
    metadata,
    # the unit is a commune for an officer's rule, a province for a supervisor's
    Column("deadline_id", Integer, ForeignKey("deadlines.id", ondelete="CASCADE"),
           primary_key=True),
    Column("unit", String(16), primary_key=True),
    Column("submitted_at", UTCDateTime, nullable=False),
    Column("submitted_by", String(32), nullable=False),
)

deadline_snoozes = Table(
    "deadline_snoozes",
    metadata,
    Column("deadline_id", Integer, ForeignKey("deadlines.id", ondelete="CASCADE"),
           primary_key=True),
    Column("unit", String(16), primary_key=True),
    Column("remind_on", Date, nullable=False, index=True),
    Column("sent", Boolean, nullable=False),
)

# --- Zalo Official Account (migration 0009) ---

zalo_oa_tokens = Table(
    "zalo_oa_tokens",
    metadata,
    # both tokens sealed; the refresh token is single use, so the two are written together
    Column("app_id", String(32), primary_key=True),
    Column("access_token", Text, nullable=False),
    Column("refresh_token", Text, nullable=False),
    Column("access_expires_at", UTCDateTime, nullable=False),
    Column("refresh_expires_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

zalo_oa_windows = Table(
    "zalo_oa_windows",
    metadata,
    # a person's last message (its id sealed, and as a keyed hash to recognise it delivered
    # again) and the free replies spent on it since
    Column("chat_key", String(64), primary_key=True),
    Column("message_key", String(64), nullable=False),
    Column("message_id", Text, nullable=False),
    Column("heard_at", UTCDateTime, nullable=False),
    Column("free_replies", Integer, nullable=False),
)

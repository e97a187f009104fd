"""Fireline's settings: one pydantic-settings class.

Scalars come from ``FIRELINE_*`` environment variables; structured configuration (triage
rules, and later escalation policies and schedules) comes from the YAML file named by
``FIRELINE_CONFIG``. Every problem is reported once, naming the variable or ``file:line``.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from bot.chat.config import ChatConfig
from bot.durations import Duration
from bot.errors import ConfigError
from bot.escalation.config import EscalationConfig, ScheduleConfig, check_file_sections
from bot.incidents.config import TriageConfig
from bot.maintenance.config import MaintenanceWindowConfig, compile_windows
from bot.people.config import PeopleConfig
from bot.runbooks.freshness import DEFAULT_REVIEW_AGE, review_age
from bot.status.config import StatusConfig
from bot.yamlpos import YamlError, load_located

ENV_PREFIX = "FIRELINE_"
SHIPPED_RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"


class FileConfig(BaseModel):
    """What the YAML configuration file may hold."""

    model_config = ConfigDict(extra="forbid")

    chat: ChatConfig = Field(default_factory=ChatConfig)
    triage: TriageConfig = Field(default_factory=TriageConfig)
    schedules: list[ScheduleConfig] = Field(default_factory=list)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    people: PeopleConfig = Field(default_factory=PeopleConfig)
    status: StatusConfig = Field(default_factory=StatusConfig)
    maintenance: list[MaintenanceWindowConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _escalation_names_schedules(self) -> FileConfig:
        check_file_sections(
            self.escalation,
            self.schedules,
            [p.id for p in self.people.directory],
            [t.name for t in self.people.teams],
        )
        compile_windows(self.maintenance)
        return self


class _YamlFileSource(PydanticBaseSettingsSource):
    """Reads the file named by ``config`` (init argument or ``FIRELINE_CONFIG``)."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        init: PydanticBaseSettingsSource,
        env: PydanticBaseSettingsSource,
    ) -> None:
        super().__init__(settings_cls)
        self._init = init
        self._env = env

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = self._init().get("config") or self._env().get("config")
        if not path:
            return {}
        return read_config_file(Path(path))


def read_config_file(path: Path) -> dict[str, Any]:
    """Load and check the YAML config file, raising ConfigError with ``file:line``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{ENV_PREFIX}CONFIG: cannot read {path}: {exc.strerror}") from exc
    try:
        located = load_located(text)
    except YamlError as exc:
        raise ConfigError(f"{path}:{exc.line}: {exc.message}") from exc
    data = located.data if located.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:{located.first_line}: the config file must be a mapping")
    try:
        FileConfig.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = error["loc"]
        where = ".".join(str(part) for part in loc)
        raise ConfigError(f"{path}:{located.line_of(loc)}: {where}: {error['msg']}") from exc
    return data


def _http_url(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value


SUPPORTED_DATABASES = ("sqlite", "postgresql")


def supported_database_url(value: str) -> str:
    """``value`` if it names a database Fireline can use; else a ValueError saying why."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError(
            "not a database URL (examples: sqlite:///./fireline.db, "
            "postgresql://user:password@host:5432/fireline)"
        ) from None
    backend = url.get_backend_name()
    if backend not in SUPPORTED_DATABASES:
        raise ValueError(f"Fireline runs on SQLite or PostgreSQL, not {backend!r}")
    if url.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg"):
        raise ValueError(f"driver {url.drivername!r} is not installed; use {backend}://")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    database_url: str = "sqlite:///./fireline.db"
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "FULL"
    migrate_on_start: bool = True
    migrate_lock_timeout: Duration = Field(default=timedelta(minutes=5))

    webhook_token: SecretStr | None = None
    api_token: SecretStr | None = None
    # Signs calendar feed URLs (an HMAC of the path); unset, the feeds are off.
    calendar_secret: SecretStr | None = None
    allow_unauthenticated: bool = False
    # Signs the console's session cookies; unset, a random key per process (sessions end
    # at a restart and are not shared between replicas).
    session_secret: SecretStr | None = None
    session_lifetime: Duration = Field(default=timedelta(hours=12))
    cookie_secure: bool = False  # mark the session cookie Secure (set behind HTTPS)
    # Where people reach the service from outside (https://fireline.example.com): the base
    # of the acknowledge links in notifications. Unset with link_secret set: http://HOST:PORT.
    public_url: str | None = None
    # Signs acknowledge and resolve links; unset, notifications carry no links.
    link_secret: SecretStr | None = None
    link_lifetime: Duration = Field(default=timedelta(hours=24))

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)

    flap_window: Duration = Field(default=timedelta(minutes=10))
    ingest_batch_size: int = Field(default=256, ge=1, le=10_000)
    triage_batch_size: int = Field(default=4, ge=1, le=10_000)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"

    postmortem_template: Path | None = None  # a Jinja2 file replacing the shipped draft
    display_timezone: str = "UTC"  # IANA name; timelines show UTC and this zone

    # Directories of markdown runbooks, separated by ':' or ','; shell steps only from trusted.
    runbook_dirs: Annotated[list[Path], NoDecode] = Field(default=[SHIPPED_RUNBOOKS])
    trusted_runbook_dirs: Annotated[list[Path], NoDecode] = Field(default=[])
    runbook_reload_interval: Duration = Field(default=timedelta(seconds=5))  # 0s: no polling
    # A runbook whose last_reviewed is older than this (or missing) is due for review: a
    # lint warning, and flagged in the reports.
    runbook_review_age: Duration = Field(default=DEFAULT_REVIEW_AGE)
    # Prometheus rule files the console's runbook library measures coverage against.
    alert_rule_files: Annotated[list[Path], NoDecode] = Field(default=[])

    @field_validator("runbook_dirs", "trusted_runbook_dirs", "alert_rule_files", mode="before")
    @classmethod
    def _split_dirs(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in value.replace(",", ":").split(":") if part.strip()]
        return value

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None and (
            self.slack_signing_secret is not None or self.slack_app_token is not None
        )

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_ends_with_slash(cls, value: str) -> str:
        value = _http_url(value)
        return value if value.endswith("/") else value + "/"

    @field_validator(
        "prometheus_url", "alertmanager_url", "kubernetes_url", "ntfy_url", "twilio_url"
    )
    @classmethod
    def _is_http_url(cls, value: str | None) -> str | None:
        return _http_url(value) if value else None

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value).rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_is_supported(cls, value: str) -> str:
        return supported_database_url(value)

    @field_validator("slack_bot_token", "slack_app_token")
    @classmethod
    def _slack_token_kind(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        prefix = "xoxb-" if info.field_name == "slack_bot_token" else "xapp-"
        if value is not None and not value.get_secret_value().startswith(prefix):
            kind = "bot token" if prefix == "xoxb-" else "app-level token"
            raise ValueError(f"a Slack {kind} starts with {prefix!r}")
        return value

    @field_validator("approvers", "http_allow", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("automation_budget")
    @classmethod
    def _budget_is_a_rate(cls, value: str) -> str:
        from bot.runbooks.model import parse_rate

        parse_rate(value)
        return value

    @field_validator("runbook_review_age")
    @classmethod
    def _review_age_in_days(cls, value: timedelta) -> timedelta:
        return review_age(value)

    @field_validator("ack_timeout", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("ack_timeout")
    @classmethod
    def _zero_is_off(cls, value: timedelta | None) -> timedelta | None:
        return value or None

    @field_validator("display_timezone")
    @classmethod
    def _timezone_exists(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if value.upper() == "UTC":
            return "UTC"
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Paris") from exc
        return value

    # Follow-up reminders in Slack (docs/postmortems.md): the owner hears of an open one this
    # long before it is due, then every period once it is overdue; looked for every tick.
    followup_remind_before: Duration = Field(default=timedelta(days=2))
    followup_remind_every: Duration = Field(default=timedelta(days=3))
    followup_reminder_tick: Duration = Field(default=timedelta(minutes=5))

    # Changes (docs/changes.md): how long before an alert a deploy, config change or flag
    # flip counts as a possible cause; the secret GitHub signs deployment_status events with.
    change_window: Duration = Field(default=timedelta(hours=2))
    github_webhook_secret: SecretStr | None = None

    # Where the monitoring stack answers: prometheus.query and verification use Prometheus,
    # silences (actions, the Slack Silence button, acknowledge) use Alertmanager's API v2.
    prometheus_url: str | None = None
    alertmanager_url: str | None = None
    # Draw the alert's expression from Prometheus at open and after verification (bot/graphs).
    graphs: bool = True

    # Runbook automation (see docs/automation.md). The global mode is the loosest any
    # runbook may run in; a runbook or step may only be stricter.
    automation_mode: Literal["auto", "approve", "dry-run", "suggest", "off"] = "auto"
    automation_budget: str = "20 per 1h"  # mutating steps across all runbooks
    automation_tick: Duration = Field(default=timedelta(seconds=1))
    # How often ended maintenance windows are looked for (ending one early wakes it at once).
    maintenance_tick: Duration = Field(default=timedelta(seconds=5))
    # A running step's owner renews this lease; a step whose lease ran out was cut off by a
    # crash and is marked interrupted, never re-run.
    automation_lease: Duration = Field(default=timedelta(seconds=30))
    approval_timeout: Duration = Field(default=timedelta(minutes=15))
    # Who may approve a step of a runbook that names no approvers of its own.
    approvers: Annotated[list[str], NoDecode] = Field(default=[])
    # Private ranges http.request may reach (CIDRs); metadata addresses never.
    http_allow: Annotated[list[ipaddress.IPv4Network | ipaddress.IPv6Network], NoDecode] = Field(
        default=[]
    )
    kubernetes_url: str | None = None
    kubeconfig: Path | None = None
    kubernetes_in_cluster: bool = False

    # Slack (docs/slack.md). The tokens are also read as SLACK_BOT_TOKEN,
    # SLACK_SIGNING_SECRET and SLACK_APP_TOKEN, the names Slack's own tools use.
    slack_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "slack_bot_token", "FIRELINE_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN"
        ),
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "slack_signing_secret", "FIRELINE_SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET"
        ),
    )
    slack_app_token: SecretStr | None = Field(  # set: Socket Mode instead of HTTP
        default=None,
        validation_alias=AliasChoices(
            "slack_app_token", "FIRELINE_SLACK_APP_TOKEN", "SLACK_APP_TOKEN"
        ),
    )
    slack_api_url: str = "https://slack.com/api/"
    slack_channel: str | None = None  # where incident cards go unless a route says otherwise
    slack_command: str = Field(default="/fireline", pattern=r"^/[a-z0-9_-]{1,31}$")
    slack_verbosity: Literal["quiet", "normal", "debug"] = "normal"
    # Writes to one channel: about one a second on average, as Slack asks, in short bursts.
    slack_rate: float = Field(default=1.0, ge=0)
    slack_burst: int = Field(default=5, ge=1)
    # When a new card would reach its channel more than this late, the incident is named
    # in the channel's storm digest instead of getting a card (0s: never).
    slack_digest_after: Duration = Field(default=timedelta(seconds=30))
    # Incidents at least this severe get a channel of their own; unset: never.
    slack_major_severity: Literal["SEV1", "SEV2", "SEV3", "SEV4"] | None = "SEV1"
    # Acknowledged means silenced (docs/silences.md): every acknowledgement silences the
    # incident's alerts in Alertmanager for this long, lifted on un-acknowledge and resolve.
    silence_on_ack: bool = Field(
        default=True,
        validation_alias=AliasChoices(
            "silence_on_ack", "FIRELINE_SILENCE_ON_ACK", "FIRELINE_SLACK_SILENCE_ON_ACK"
        ),
    )
    silence_duration: Duration = Field(
        default=timedelta(hours=2),
        validation_alias=AliasChoices(
            "silence_duration", "FIRELINE_SILENCE_DURATION", "FIRELINE_SLACK_SILENCE_DURATION"
        ),
    )

    # People's contact methods (bot/notify): email over SMTP, push through ntfy, SMS and
    # voice through a Twilio-compatible API. A method whose provider is not configured is
    # skipped with a warning, and the person's next method is tried at once.
    smtp_host: str | None = None  # unset: no email
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True  # upgrade with STARTTLS; false only for a relay on loopback
    smtp_from: str = "fireline@localhost"
    ntfy_url: str = "https://ntfy.sh"
    ntfy_token: SecretStr | None = None
    twilio_url: str = "https://api.twilio.com"
    twilio_account_sid: str | None = None  # unset: no SMS or voice
    twilio_auth_token: SecretStr | None = None  # also verifies inbound SMS replies
    twilio_from: str | None = None  # the sending number, E.164

    # An acknowledgement this old (and not resolved) is withdrawn and escalation restarts;
    # unset, empty or 0s: acknowledgements never time out.
    ack_timeout: Duration | None = None

    config: Path | None = None
    chat: ChatConfig = Field(default_factory=ChatConfig)
    triage: TriageConfig = Field(default_factory=TriageConfig)
    schedules: list[ScheduleConfig] = Field(default_factory=list)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    people: PeopleConfig = Field(default_factory=PeopleConfig)
    status: StatusConfig = Field(default_factory=StatusConfig)
    maintenance: list[MaintenanceWindowConfig] = Field(default_factory=list)
    # Named secrets (FIRELINE_SECRETS, a JSON object) that config refers to by name, such
    # as an outbound webhook's PagerDuty routing key.
    secrets: dict[str, SecretStr] = Field(default_factory=dict)

    def secret_values(self) -> list[str]:
        """Every secret value, for scrubbing from logs: each ``SecretStr`` setting and the
        named secrets, so a secret setting added later is scrubbed too."""
        values = [getattr(self, name) for name in type(self).model_fields]
        values += list(self.secrets.values())
        return [v.get_secret_value() for v in values if isinstance(v, SecretStr)]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = _YamlFileSource(settings_cls, init_settings, env_settings)
        return (init_settings, env_settings, yaml_file, file_secret_settings)

    @model_validator(mode="after")
    def _refuse_open_listener(self) -> Settings:
        exposed = not _is_loopback(self.host)
        missing = [
            f"{ENV_PREFIX}{name.upper()}"
            for name in ("webhook_token", "api_token")
            if getattr(self, name) is None
        ]
        if exposed and missing and not self.allow_unauthenticated:
            raise ValueError(
                f"listening on {self.host} without {' and '.join(missing)}; set them, or set "
                f"{ENV_PREFIX}ALLOW_UNAUTHENTICATED=true if something else guards the port"
            )
        return self

    def masked(self) -> dict[str, Any]:
        """The settings as shown to people: secrets masked."""
        return self.model_dump(mode="json", exclude={"triage"})


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning any validation error into one clear ConfigError."""
    try:
        return Settings(**overrides)
    except SettingsError as exc:
        # A value the environment source could not parse (JSON settings such as secrets).
        field = re.search(r'field "(\w+)"', str(exc))
        key = f"{ENV_PREFIX}{field.group(1).upper()}" if field else "a setting"
        cause = f": {exc.__cause__}" if exc.__cause__ else ""
        raise ConfigError(f"{key}: not valid JSON{cause}") from None
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = error["loc"]
            key = f"{ENV_PREFIX}{str(loc[0]).upper()}" if loc else "settings"
            rest = ".".join(str(p) for p in loc[1:])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{key}{'.' + rest if rest else ''}: {message}")
        raise ConfigError("; ".join(problems)) from exc

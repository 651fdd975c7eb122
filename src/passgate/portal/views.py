"""What the pages show: the rules of the effective policy, and a refusal on the field it concerns.

The rules come from the same :class:`EffectivePolicy` the policy endpoints
publish, worded by the catalogue. Each rule the browser can check by
itself carries a ``check`` (and its number) for the script; the others say
they are checked on submit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from passgate import errors as e
from passgate.api.error_table import spec_for
from passgate.policy.model import CLASS_NAMES, EffectivePolicy
from passgate.portal.messages import Messages

CURRENT, NEW, CONFIRM = "current", "new", "confirm"
# The workspace endpoint's field names (FieldProblem.field) -> the form's.
FORM_FIELD = {"CurrentPassword": CURRENT, "NewPassword": NEW, "confirm": CONFIRM}
# What is wrong with a field's type (FieldProblem.reason, as passwords.password_field and
# pages.read_passwords word it) -> the catalogue's key; any other: it was not typed text.
TYPE_MESSAGES = {
    "must not contain control characters": "error.control",
    "must be a string": "error.not_text",  # a file, not a typed value
    "must be valid Unicode text": "error.not_text",
    "differs": "error.confirm",  # the confirmation is not the new password
}


@dataclass(frozen=True)
class RuleView:
    text: str
    check: str | None = None  # what portal.js tests: min_length, max_length, lowercase...
    limit: int | None = None


@dataclass
class Refusal:
    """Why the change did not happen: a message per field, and one for the whole form."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    status: int = 400
    retry_after: int | None = None


def rules(policy: EffectivePolicy, t: Messages) -> list[RuleView]:
    shown: list[RuleView] = []
    for rule in policy.rules:
        reason = rule.reason
        if reason is e.PolicyReason.TOO_SHORT:
            shown.append(RuleView(t("rule." + reason, n=rule.value), "min_length", rule.value))
        elif reason is e.PolicyReason.TOO_LONG:
            shown.append(RuleView(t("rule." + reason, n=rule.value), "max_length", rule.value))
        elif reason is e.PolicyReason.TOO_YOUNG:
            shown.append(RuleView(t("rule." + reason, duration=t.duration(rule.value or 0))))
        elif reason is e.PolicyReason.SAME_AS_OLD:
            shown.append(RuleView(t("rule." + reason), "differs"))
        elif reason is e.PolicyReason.QUALITY and rule.source == "local":
            continue  # the character classes, below, each with its own check
        elif reason is e.PolicyReason.TOO_WEAK and rule.value is None:
            continue  # the forbidden list, below
        else:
            shown.append(RuleView(t("rule." + reason, n=rule.value)))
    for name in CLASS_NAMES:
        count = getattr(policy.local, name)
        if count:
            shown.append(RuleView(t("rule." + name, n=count), name.removeprefix("min_"), count))
    if policy.local.forbidden_list:
        shown.append(RuleView(t("rule.forbidden")))
    return shown


def refused_message(error: e.PasswordPolicyRejected, policy: EffectivePolicy, t: Messages) -> str:
    """The exact rule and limit: the service's sentence in English, else the catalogue's."""
    if t.language == "en" and error.message:
        return error.message
    reason = error.reason
    d = policy.directory
    values: dict[str, object] = {}
    if reason is e.PolicyReason.TOO_SHORT:
        values["n"] = policy.min_length
    elif reason is e.PolicyReason.TOO_LONG:
        values["n"] = policy.max_length
    elif reason is e.PolicyReason.IN_HISTORY:
        if not (d and d.history):
            return error.message or t("refused.directoryRejected")
        values["n"] = d.history
    elif reason is e.PolicyReason.TOO_YOUNG:
        values["duration"] = t.duration(d.min_age_seconds if d and d.min_age_seconds else 0)
    return t("refused." + reason, **values)


def problem_message(
    name: str, problem: e.FieldProblem, policy: EffectivePolicy | None, t: Messages
) -> str:
    if problem.kind is e.ProblemKind.INVALID_TYPE:
        return t(TYPE_MESSAGES.get(problem.reason, "error.not_text"))
    if problem.kind is not e.ProblemKind.INVALID_LENGTH:
        return t("error.required")
    too_short = "least" in problem.reason  # passwords.password_field's wording
    if name != NEW or policy is None:
        return t("error.too_long", n=128)
    if too_short:
        return t("refused.passwordTooShort", n=policy.min_length)
    return t("refused.passwordTooLong", n=policy.max_length)


def refusal(
    error: e.PassgateError, policy: EffectivePolicy | None, t: Messages, helpdesk: str
) -> Refusal:
    """One error of the use case, as the page says it (the same table decides the status)."""
    status = spec_for(error).status
    ask = t("error.helpdesk", helpdesk=helpdesk) if helpdesk else t("error.helpdesk.none")
    if isinstance(error, e.ValidationFailed):
        found = Refusal(status=status)
        for problem in error.problems:
            name = FORM_FIELD.get(problem.field, NEW)
            found.fields[name] = problem_message(name, problem, policy, t)
        return found
    if isinstance(error, e.IncorrectOldPassword):
        return Refusal({CURRENT: t("error.incorrect")}, status=status)
    if isinstance(error, e.PasswordPolicyRejected):
        message = refused_message(error, policy, t) if policy else error.message
        return Refusal({NEW: message or t("refused.directoryRejected")}, status=status)
    if isinstance(error, e.PasswordExpired):
        return Refusal({CURRENT: t("error.expired") + " " + ask}, status=status)
    if isinstance(error, e.AccountLocked):
        return Refusal(general=[t("error.locked") + " " + ask], status=status)
    if isinstance(error, e.TooManyAttempts):
        wait = t.duration(error.retry_after)
        return Refusal(
            general=[t("error.too_many", duration=wait)],
            status=status,
            retry_after=error.retry_after,
        )
    if isinstance(error, e.UserNotFound):
        return Refusal(general=[t("error.not_found") + " " + ask], status=status)
    if isinstance(error, e.Forbidden):
        return Refusal(general=[t("error.forbidden")], status=status)
    if isinstance(error, e.DirectoryUnavailable):
        return Refusal(general=[t("error.unavailable")], status=status)
    return Refusal(general=[t("error.internal")], status=status)

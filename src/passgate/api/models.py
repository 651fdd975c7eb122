"""Every answer's shape, and the two request bodies', as pydantic models.

The one definition: the presenters build their answers from these models,
and the routes declare them, so FastAPI generates ``/openapi.json`` from
the same classes. Optional keys that the contract leaves out when empty
(v1's ``details``, a detail's ``message``) are dumped with ``exclude_none``;
the workspace items keep their nulls (``Target``, ``Field``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic.config import JsonDict

from passgate.api.passwords import MAX_LENGTH, MIN_LENGTH

# The documented form of passwords.CONTROL_CHARACTERS: no C0 or C1 control character, no DEL.
NO_CONTROLS: JsonDict = {"pattern": "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"}

# -- v1 ------------------------------------------------------------------------------


class ChangePasswordV1(BaseModel):
    """v1's body (JSON, urlencoded or multipart); read and checked by a dependency."""

    oldPassword: SecretStr = Field(
        min_length=MIN_LENGTH, max_length=MAX_LENGTH, json_schema_extra=NO_CONTROLS
    )
    newPassword: SecretStr = Field(
        min_length=MIN_LENGTH, max_length=MAX_LENGTH, json_schema_extra=NO_CONTROLS
    )


class PasswordChanged(BaseModel):
    passwordChanged: str = Field(examples=["OK"])


class V1Success(BaseModel):
    status: bool = Field(examples=[True])
    data: PasswordChanged


class ErrorDetail(BaseModel):
    field: str
    reason: str
    message: str | None = Field(
        default=None, description="policy refusals: the rule and its limit, for the person"
    )


class V1ErrorBody(BaseModel):
    code: int
    message: str
    details: list[ErrorDetail] | None = None


class V1Error(BaseModel):
    status: bool = Field(examples=[False])
    error: V1ErrorBody


# -- workspace -----------------------------------------------------------------------


class ChangePasswordWorkspace(BaseModel):
    """The workspace body; property names are matched case-insensitively."""

    CurrentPassword: SecretStr | None = Field(default=None, json_schema_extra=NO_CONTROLS)
    NewPassword: SecretStr | None = Field(default=None, json_schema_extra=NO_CONTROLS)


class WorkspaceItem(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    Code: str
    Message: str
    Target: str | None
    Field_: str | None = Field(alias="Field")
    Metadata: dict[str, str]
    Type: int = Field(description="0 validation, 1 business rule, 2 system")
    Severity: int = Field(description="0 info, 1 warning, 2 error")


class WorkspaceData(BaseModel):
    PasswordChanged: bool


class WorkspaceEnvelope(BaseModel):
    Data: WorkspaceData
    Errors: list[WorkspaceItem]
    Warnings: list[WorkspaceItem]
    Success: bool


class ProblemDetails(BaseModel):
    """RFC 7807 problem details (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str


# -- the password policy -------------------------------------------------------------


class PolicyRule(BaseModel):
    reason: str = Field(description="the contract's section-4 reason this rule produces")
    source: str = Field(description="local (passgate) or directory")
    value: int | None = Field(description="its limit, where it has one")
    message: str


class PasswordPolicy(BaseModel):
    minLength: int
    maxLength: int
    history: int | None
    minAgeSeconds: int | None
    maxAgeSeconds: int | None
    directoryQualityCheck: bool | None
    minLowercase: int
    minUppercase: int
    minDigits: int
    minSymbols: int
    notSameAsOld: bool
    notContainingUsername: bool
    minStrength: int = Field(description="zxcvbn score 0..4; 0: not checked")
    forbiddenList: bool
    directorySource: str | None = Field(description="the entry the directory's rules came from")
    rules: list[PolicyRule]


class V1PolicyResponse(BaseModel):
    status: bool
    data: PasswordPolicy


class WorkspacePolicyEnvelope(BaseModel):
    Data: PasswordPolicy
    Errors: list[WorkspaceItem]
    Warnings: list[WorkspaceItem]
    Success: bool

"""DRS errors, one class per exception shape of the botocore model.

moto serializes a :class:`ServiceException` with the model's HTTP status for its
``code`` and copies every attribute named like a member of the exception shape
(``reason``, ``fieldList``, ``resourceId`` ...) into the JSON error body.
"""

from __future__ import annotations

from moto.core.exceptions import ServiceException

# The sandbox's names for the three launch quotas (Service Quotas has no public
# list of DRS quota codes we could copy, so these say plainly what they are).
SERVICE_CODE = "drs"
QUOTA_SERVERS_PER_JOB = "sandbox-max-source-servers-per-job"
QUOTA_CONCURRENT_JOBS = "sandbox-max-concurrent-jobs"
QUOTA_SERVERS_IN_ACTIVE_JOBS = "sandbox-max-source-servers-in-all-active-jobs"
QUOTA_SOURCE_SERVERS = "sandbox-max-source-servers"
QUOTA_REPLICATING_SOURCE_SERVERS = "sandbox-max-replicating-source-servers"


class UninitializedAccountException(ServiceException):
    code = "UninitializedAccountException"
    message = "Account not initialized for the Elastic Disaster Recovery service"


class ValidationException(ServiceException):
    code = "ValidationException"

    def __init__(
        self,
        message: str,
        *,
        reason: str = "other",
        fields: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        if fields:
            self.fieldList = [{"name": name, "message": text} for name, text in fields]


class ValidationError(ServiceException):
    """AWS's common error for a request that fails the service's constraints (HTTP 400),
    for the operations whose model declares no ValidationException
    (https://docs.aws.amazon.com/drs/latest/APIReference/CommonErrors.html)."""

    code = "ValidationError"


class ResourceNotFoundException(ServiceException):
    code = "ResourceNotFoundException"

    def __init__(self, message: str, *, resource_id: str, resource_type: str) -> None:
        super().__init__(message)
        self.resourceId = resource_id
        self.resourceType = resource_type


class ConflictException(ServiceException):
    code = "ConflictException"

    def __init__(self, message: str, *, resource_id: str, resource_type: str) -> None:
        super().__init__(message)
        self.resourceId = resource_id
        self.resourceType = resource_type


class ServiceQuotaExceededException(ServiceException):
    code = "ServiceQuotaExceededException"

    def __init__(
        self, message: str, *, quota_code: str, resource_type: str, resource_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.quotaCode = quota_code
        self.serviceCode = SERVICE_CODE
        self.resourceType = resource_type
        if resource_id:
            self.resourceId = resource_id

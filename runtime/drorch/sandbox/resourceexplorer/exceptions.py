"""Resource Explorer errors, named after the exception shapes of the botocore model."""

from __future__ import annotations

from moto.core.exceptions import ServiceException


class ResourceNotFoundException(ServiceException):
    code = "ResourceNotFoundException"


class ConflictException(ServiceException):
    code = "ConflictException"


class UnauthorizedException(ServiceException):
    code = "UnauthorizedException"


class ValidationException(ServiceException):
    code = "ValidationException"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        # serialized as FieldList: [{Name, ValidationIssue}]
        self.field_list = [{"Name": field, "ValidationIssue": message}] if field else None

/* status.c - allot errors to gRPC status codes.
 *
 * Client mistakes map to the codes a client can act on; storage trouble
 * maps to RESOURCE_EXHAUSTED (it may pass: retry later), DATA_LOSS
 * (a record did not decode: an operator must look) or INTERNAL.
 */
#include "status.h"

#include "allot/err.h"

grpc_status_code status_to_grpc(int err)
{
    switch (err) {
    case ALLOT_OK:
        return GRPC_STATUS_OK;
    case ALLOT_EINVAL:
        return GRPC_STATUS_INVALID_ARGUMENT;
    case ALLOT_ENOTFOUND:
        return GRPC_STATUS_NOT_FOUND;
    case ALLOT_EEXIST:
        return GRPC_STATUS_ALREADY_EXISTS;
    case ALLOT_EPRECOND:
        return GRPC_STATUS_FAILED_PRECONDITION;
    case ALLOT_EFULL:
    case ALLOT_ENOMEM:
        return GRPC_STATUS_RESOURCE_EXHAUSTED;
    case ALLOT_ECORRUPT:
        return GRPC_STATUS_DATA_LOSS;
    case ALLOT_EUNIMPL:
        return GRPC_STATUS_UNIMPLEMENTED;
    case ALLOT_EBUSY:
        return GRPC_STATUS_UNAVAILABLE;
    case ALLOT_ECANCELLED:
        return GRPC_STATUS_CANCELLED;
    case ALLOT_EDEADLINE:
        return GRPC_STATUS_DEADLINE_EXCEEDED;
    case ALLOT_EUNAUTH:
        return GRPC_STATUS_UNAUTHENTICATED;
    case ALLOT_EPERM:
        return GRPC_STATUS_PERMISSION_DENIED;
    case ALLOT_EIO:
    case ALLOT_EFORMAT:
    default:
        return GRPC_STATUS_INTERNAL;
    }
}

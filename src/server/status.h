/* status.h - the one place allot errors become gRPC status codes. */
#ifndef ALLOT_SERVER_STATUS_H
#define ALLOT_SERVER_STATUS_H

#include <grpc/status.h>

/* ALLOT_EINVAL -> INVALID_ARGUMENT, ALLOT_ENOTFOUND -> NOT_FOUND, ... */
grpc_status_code status_to_grpc(int allot_err);

#endif

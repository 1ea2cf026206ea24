/* handlers.h - one function per RPC; each documents its contract above its
 * definition. */
#ifndef ALLOT_SERVER_HANDLERS_H
#define ALLOT_SERVER_HANDLERS_H

#include "server.h"

enum handler_result handle_health_check(struct call *c, const ProtobufCMessage *req);

enum handler_result handle_put_service(struct call *c, const ProtobufCMessage *req);
enum handler_result handle_list_services(struct call *c, const ProtobufCMessage *req);
enum handler_result handle_put_plan(struct call *c, const ProtobufCMessage *req);
enum handler_result handle_get_plan(struct call *c, const ProtobufCMessage *req);
enum handler_result handle_list_plans(struct call *c, const ProtobufCMessage *req);
enum handler_result handle_put_member(struct call *c, const ProtobufCMessage *req);
enum handler_result handle_get_member(struct call *c, const ProtobufCMessage *req);

/* Methods a later change implements: UNIMPLEMENTED with a message saying so. */
enum handler_result handle_not_yet(struct call *c, const ProtobufCMessage *req);

#endif

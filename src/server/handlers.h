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

enum handler_result handle_price_invoice(struct call *c, const ProtobufCMessage *req);
enum handler_result handle_preview_invoice(struct call *c, const ProtobufCMessage *req);
enum handler_result handle_void_invoice(struct call *c, const ProtobufCMessage *req);
enum handler_result handle_record_usage(struct call *c, const ProtobufCMessage *req);
enum handler_result handle_void_usage(struct call *c, const ProtobufCMessage *req);
enum handler_result handle_get_allotments(struct call *c, const ProtobufCMessage *req);
enum handler_result handle_watch_thresholds(struct call *c, const ProtobufCMessage *req);

enum handler_result handle_list_audit(struct call *c, const ProtobufCMessage *req);

struct allot_txn;
struct allot_member;
/* The member a request names, into c's arena; ALLOT_ENOTFOUND with c's
 * status saying so (field member_id) when there is none, or the store's
 * error, status untouched. */
int handler_member(struct allot_txn *t, struct call *c, const char *member_id,
                   struct allot_member *m);

#endif

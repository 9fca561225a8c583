/**
 * @bus/rpc: request/reply over any bus transport. Define a route once with `defineRoute`, call it
 * with `RpcClient.request`, serve it with `RpcServer.handle`.
 */
export { defineRoute, type ReplyOf, type RequestOf, type Route, type RouteDefinition } from './route.js';
export { RpcClient, type RpcClientOptions, type RpcClientStats, type RequestOptions } from './client.js';
export { type RpcContext, type RpcHandler, RpcServer, type RpcServerOptions, type RpcServerStats } from './server.js';
export { type CorrelationOptions, DEFAULT_CORRELATION_HEADERS, RpcHeaders, readCorrelationId } from './headers.js';
export {
  AbortError,
  RemoteError,
  type RemoteErrorOptions,
  RpcError,
  type RpcErrorCode,
  type RpcErrorOptions,
  RpcTimeoutError,
} from './errors.js';
export { type ErrorBody, HANDLER_ERROR_CODE } from './error-reply.js';
export { NestKafkaHeaders, nestReplyTopic, type RpcProfile, SpringKafkaHeaders } from './profiles.js';
export {
  subscribeTyped,
  type TypedParser,
  type TypedStream,
  TypedStreamError,
  type TypedStreamOptions,
  type TypedStreamStats,
} from './typed-stream.js';

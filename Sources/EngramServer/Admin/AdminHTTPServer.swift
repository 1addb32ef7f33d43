import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The admin HTTP port: `GET /health` (200 once the store is open and the server accepts
/// connections, 503 before and while shutting down) and `GET /metrics` (Prometheus text).
/// Anything else is 404. Small and separate from the data port, so an orchestrator's probes and
/// scrapes never queue behind agent traffic.
public final class AdminHTTPServer: Sendable {
    let channel: any Channel
    public var localAddress: SocketAddress? { channel.localAddress }

    private init(channel: any Channel) { self.channel = channel }

    /// `ready` answers the health probe; `metrics` renders the exposition (nil before the store
    /// is open).
    public static func start(host: String, port: Int, group: any EventLoopGroup, ready: @escaping @Sendable () -> Bool, metrics: @escaping @Sendable () -> String?) async throws -> AdminHTTPServer {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(ready: ready, metrics: metrics))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        return AdminHTTPServer(channel: channel)
    }

    public func close() async {
        try? await channel.close()
    }
}

final class AdminHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let ready: @Sendable () -> Bool
    let metrics: @Sendable () -> String?
    private var request: HTTPRequestHead?

    init(ready: @escaping @Sendable () -> Bool, metrics: @escaping @Sendable () -> String?) {
        self.ready = ready
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            let (status, contentType, body) = route(head)
            respond(context, head, status, contentType, body)
        }
    }

    private func route(_ head: HTTPRequestHead) -> (HTTPResponseStatus, String, String) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard head.method == .GET || head.method == .HEAD else { return (.methodNotAllowed, "text/plain", "GET only\n") }
        switch path {
        case "/health":
            return ready() ? (.ok, "text/plain", "ready\n") : (.serviceUnavailable, "text/plain", "not ready\n")
        case "/metrics":
            guard let text = metrics() else { return (.serviceUnavailable, "text/plain", "not ready\n") }
            return (.ok, "text/plain; version=0.0.4; charset=utf-8", text)
        default:
            return (.notFound, "text/plain", "not found; try /health or /metrics\n")
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ status: HTTPResponseStatus, _ contentType: String, _ body: String) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}

import Glibc
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOExtras
import NIOPosix
import ServiceLifecycle
import WorkerKit

/// A Hummingbird responder served on a socket bulkhead passed down (or on an address), as a
/// `Service`.
///
/// Why not Hummingbird's `Application`: its `ServerConfiguration.address` is a `BindAddress`,
/// which is a host and port or a unix socket path (Hummingbird 2.28), and its `Server` always
/// binds a new socket. swift-nio can adopt a socket that is already bound and listening:
/// `ServerBootstrap.bind(_ socket: NIOBSDSocket.Handle, …)` (`withBoundSocket` in the
/// future-based API). So this service does what Hummingbird's `Server.run` does, with that
/// bootstrap: Hummingbird's own `HTTP1Channel` per connection, NIOExtras'
/// `ServerQuiescingHelper` for the graceful shutdown (no new connections; each open one
/// closes once its in-flight response is written).
struct HTTPServerService<Responder: HTTPResponder>: Service
where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
    enum Listener: Sendable, CustomStringConvertible {
        /// A socket from `listenFDs()`: bound and listening already.
        case inherited(ListenFD)
        case address(host: String, port: Int)

        var description: String {
            switch self {
            case .inherited(let socket): "inherited socket \(socket.name) (fd \(socket.fileDescriptor))"
            case .address(let host, let port): "\(host):\(port)"
            }
        }
    }

    let listener: Listener
    let responder: Responder
    let logger: Logger
    /// Runs once the listener accepts: the place to say READY.
    let onServing: @Sendable (SocketAddress?) -> Void
    var warmup: Duration = .zero
    var eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

    func run() async throws {
        if warmup > .zero {
            // Connections that arrive meanwhile wait in the listening socket's backlog.
            try await Task.sleep(for: warmup)
        }
        let quiescing = ServerQuiescingHelper(group: eventLoopGroup)
        let channelSetup = HTTP1Channel(responder: respond)
        let bootstrap = ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
        let serverChannel: NIOAsyncChannel<HTTP1Channel.Value, Never>
        switch listener {
        case .inherited(let socket):
            serverChannel = try await bootstrap.bind(socket.fileDescriptor) { channel in
                channelSetup.setup(channel: channel, logger: logger)
            }
            // NIO's adopting channel calls listen(2) again with its own backlog of 128. The
            // backlog belongs to the socket, which the supervisor holds across this process's
            // deaths, and it is what queues clients while no instance accepts: put the kernel's
            // maximum back (systemd's Backlog= defaults to SOMAXCONN too).
            _ = Glibc.listen(socket.fileDescriptor, SOMAXCONN)
        case .address(let host, let port):
            serverChannel = try await bootstrap.bind(host: host, port: port) { channel in
                channelSetup.setup(channel: channel, logger: logger)
            }
        }
        let address = serverChannel.channel.localAddress
        logger.info("serving", metadata: ["on": "\(listener)", "address": "\(address.map { "\($0)" } ?? "?")"])
        onServing(address)

        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { connections in
                do {
                    try await serverChannel.executeThenClose { inbound in
                        for try await connection in inbound {
                            connections.addTask {
                                await channelSetup.handle(value: connection, logger: logger)
                            }
                        }
                    }
                } catch is CancellationError {
                    // The group is cancelling (another service failed): not this server's error.
                } catch {
                    logger.error("accepting connections failed", metadata: ["error": "\(error)"])
                }
                // The group now waits for the open connections: after a graceful shutdown, for
                // their in-flight requests.
            }
        } onGracefulShutdown: {
            logger.notice("graceful shutdown: no new connections; finishing in-flight requests")
            quiescing.initiateShutdown(promise: nil)
        }
    }

    /// One request through the responder, as Hummingbird's `Application` does it: an error that
    /// is not an HTTP error becomes a 500.
    @Sendable
    private func respond(_ request: Request, _ writer: consuming ResponseWriter, _ channel: any Channel) async throws {
        let context = Responder.Context(source: ApplicationRequestContextSource(channel: channel, logger: logger))
        let response: Response
        do {
            response = try await responder.respond(to: request, context: context)
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            response = Response(status: .internalServerError)
        }
        try await writer.write(response: response.head, body: response.body)
    }
}

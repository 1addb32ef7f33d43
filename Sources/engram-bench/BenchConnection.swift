import EngramProtocol
import NIOCore
import Synchronization

/// What one run asks of every connection.
struct Workload: Sendable {
    enum Operation: String, Sendable {
        case get
        case put
        case ping
        /// Short-term (hot tier) get and put: memory only, answered on the event loop.
        case hotGet = "hot-get"
        case hotPut = "hot-put"
    }

    let operation: Operation
    let namespace: String
    let keyspaceCount: Int
    let value: [UInt8]
    let pipelineDepth: Int
    let flags: FrameFlags
    let token: String
}

/// Shared by the connections of one run: how many requests are left to send and to answer.
final class RunState: Sendable {
    let remainingToSend: Atomic<Int>
    let remainingToAnswer: Atomic<Int>
    let failures = Atomic<Int>(0)
    /// Gets answered notFound: a get run after a put run over the same keyspace should have few.
    let misses = Atomic<Int>(0)
    let done: EventLoopPromise<Void>

    init(requestCount: Int, done: EventLoopPromise<Void>) {
        remainingToSend = Atomic(requestCount)
        remainingToAnswer = Atomic(requestCount)
        self.done = done
    }

    /// Takes one request to send; false when the run's budget is spent.
    func takeOne() -> Bool {
        remainingToSend.wrappingSubtract(1, ordering: .relaxed).oldValue > 0
    }
}

/// One benchmark connection: says hello, keeps `pipelineDepth` requests in flight, records each
/// request's latency in microseconds. Event loop only.
///
/// Built to cost the client as little as possible per request, since it shares the machine with
/// the server it measures (as redis-benchmark does): frames are decoded in place over one
/// cumulation buffer, requests are written from a template, the clock is read once per flush and
/// once per read rather than per request (a request's latency runs from the flush that sent it to
/// the read that brought its answer), and send times sit in a ring indexed by request id.
final class BenchConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let workload: Workload
    let run: RunState
    // The handler runs on its event loop only, and no access to these overlaps another: Swift's
    // dynamic exclusivity checks on them cost about a sixth of the load generator's CPU, which
    // on a shared machine comes out of the server's.
    @exclusivity(unchecked) private var nextRequestID: UInt64 = 2
    /// Send time per in-flight request, at `id % capacity`; 0 while the request is unsent.
    @exclusivity(unchecked) private var sentNanoseconds: [UInt64]
    @exclusivity(unchecked) private var sentIDs: [UInt64]
    @exclusivity(unchecked) private var unsentFrom: UInt64 = 2
    /// Keys are drawn from a SplitMix64 seeded once: `SystemRandomNumberGenerator` makes a
    /// `getrandom` system call per key, about a fifth of the load generator's CPU.
    @exclusivity(unchecked) private var generator = SplitMix64(seed: UInt64.random(in: .min ... .max))
    @exclusivity(unchecked) private(set) var latenciesMicroseconds: [UInt32] = []
    private(set) var outOfOrderCount = 0
    @exclusivity(unchecked) private var output: ByteBuffer?
    @exclusivity(unchecked) private var cumulation: ByteBuffer?
    @exclusivity(unchecked) private var decoder = FrameDecoder(side: .client, frameBytesMax: 64 << 20)
    private let template: Template
    private var helloDone = false

    init(workload: Workload, run: RunState) {
        self.workload = workload
        self.run = run
        self.template = Self.template(workload)
        let capacity = workload.pipelineDepth * 2
        sentNanoseconds = Array(repeating: 0, count: capacity)
        sentIDs = Array(repeating: 0, count: capacity)
        latenciesMicroseconds.reserveCapacity(1 << 16)
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        FrameEncoder.write(.hello(HelloRequest(token: Array(workload.token.utf8), clientName: "engram-bench")), requestID: 1, into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if cumulation == nil { cumulation = bytes } else { cumulation!.writeBuffer(&bytes) }
        let now = NIODeadline.now().uptimeNanoseconds
        do {
            while let frame = try decoder.decodeFrame(&cumulation!) {
                answered(frame, at: now, context)
            }
        } catch {
            errorCaught(context: context, error: error)
            return
        }
        if cumulation!.readableBytes == 0 { cumulation = nil }
    }

    private func answered(_ frame: Frame, at now: UInt64, _ context: ChannelHandlerContext) {
        let id = frame.header.requestID
        if id == 1 {
            guard frame.header.status == .ok else {
                print("engram-bench: hello refused: \(frame.header.status) \((try? Response.decode(frame)).map { "\($0)" } ?? "")")
                run.failures.add(1, ordering: .relaxed)
                context.close(promise: nil)
                return
            }
            helloDone = true
            for _ in 0..<workload.pipelineDepth { sendNext(context) }
            return
        }
        let slot = Int(id % UInt64(sentIDs.count))
        if sentIDs[slot] == id && sentNanoseconds[slot] != 0 {
            latenciesMicroseconds.append(UInt32(min((now &- sentNanoseconds[slot]) / 1_000, UInt64(UInt32.max))))
        } else {
            outOfOrderCount += 1
        }
        if frame.header.status == .notFound {
            run.misses.add(1, ordering: .relaxed)
        } else if frame.header.status != .ok {
            if run.failures.wrappingAdd(1, ordering: .relaxed).oldValue == 0 {
                print("engram-bench: first failure: \((try? Response.decode(frame)).map { "\($0)" } ?? "\(frame.header.status)")")
            }
        }
        sendNext(context)
        if run.remainingToAnswer.wrappingSubtract(1, ordering: .relaxed).newValue == 0 {
            run.done.succeed()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context)
    }

    /// Sends what was written and stamps every request in it with one clock reading.
    private func flush(_ context: ChannelHandlerContext) {
        guard let buffer = output else { return }
        output = nil
        let now = NIODeadline.now().uptimeNanoseconds
        while unsentFrom < nextRequestID {
            sentNanoseconds[Int(unsentFrom % UInt64(sentIDs.count))] = now
            unsentFrom += 1
        }
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    /// Appends one request: the operation's frame template with a fresh request id and random
    /// key digits written in place, so sending allocates nothing (as redis-benchmark rewrites its
    /// `__rand_int__` placeholders).
    private func sendNext(_ context: ChannelHandlerContext) {
        guard run.takeOne() else { return }
        let id = nextRequestID
        nextRequestID += 1
        let slot = Int(id % UInt64(sentIDs.count))
        sentIDs[slot] = id
        sentNanoseconds[slot] = 0
        if output == nil { output = context.channel.allocator.buffer(capacity: workload.pipelineDepth * template.frame.count) }
        let start = output!.writerIndex
        output!.writeBytes(template.frame)
        output!.setInteger(id, at: start + 8, endianness: .little)
        if let digitsOffset = template.keyDigitsOffset {
            var number = Int.random(in: 0..<workload.keyspaceCount, using: &generator)
            var index = start + digitsOffset + Self.keyDigitCount - 1
            for _ in 0..<Self.keyDigitCount {
                output!.setInteger(UInt8(ascii: "0") + UInt8(number % 10), at: index)
                number /= 10
                index -= 1
            }
        }
    }

    static let keyDigitCount = 12

    /// The frame of one request of the workload, and where its key digits are.
    struct Template {
        let frame: [UInt8]
        let keyDigitsOffset: Int?
    }

    static func template(_ workload: Workload) -> Template {
        let key = Array("key:\(String(repeating: "0", count: keyDigitCount))".utf8)
        let request: Request
        switch workload.operation {
        case .get: request = .longTermGet(namespace: workload.namespace, key: key)
        case .put: request = .longTermPut(namespace: workload.namespace, key: key, value: workload.value)
        case .ping: request = .ping(payload: [])
        case .hotGet: request = .shortTermGet(namespace: workload.namespace, key: key)
        case .hotPut: request = .shortTermPut(namespace: workload.namespace, key: key, ttl: .serverDefault, value: workload.value)
        }
        var buffer = ByteBuffer()
        FrameEncoder.write(request, requestID: 1, flags: workload.operation == .put ? workload.flags : [], into: &buffer)
        // header, [u8 length][namespace], [u16 length], then "key:" (the same for every operation
        // with a key).
        let digitsOffset = FrameHeader.byteCount + 1 + workload.namespace.utf8.count + 2 + 4
        return Template(frame: Array(buffer.readableBytesView), keyDigitsOffset: workload.operation == .ping ? nil : digitsOffset)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        print("engram-bench: connection error: \(error)")
        run.failures.add(1, ordering: .relaxed)
        context.close(promise: nil)
    }
}

/// Sebastiano Vigna's SplitMix64: a fast generator of uniform 64-bit values, good enough to pick
/// benchmark keys (redis-benchmark uses a similar cheap generator); not for anything secret.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

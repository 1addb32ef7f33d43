#if canImport(Glibc)
import Glibc
#endif
import EngramProtocol
import NIOCore

/// A blocking loopback socket that sends exact bytes and reads frames back, for the bad-input
/// tests: no client library between the test and the wire. Reads time out after 5 s.
final class RawConnection {
    let descriptor: Int32
    private var received = ByteBuffer()
    private var decoder = FrameDecoder(side: .client, frameBytesMax: 64 << 20)

    /// `receiveBufferBytes` shrinks the socket's receive buffer before connecting, so a test
    /// that stops reading makes the server's side fill up quickly.
    init(port: Int, receiveBufferBytes: Int32? = nil) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket failed: errno \(errno)") }
        if var bytes = receiveBufferBytes {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &bytes, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(descriptor)
            throw TestFailure("connect to port \(port) failed: errno \(errno)")
        }
    }

    deinit { close(descriptor) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else { throw TestFailure("write failed: errno \(errno)") }
            offset += written
        }
    }

    func send(_ request: Request, id: UInt64, flags: FrameFlags = []) throws {
        var buffer = ByteBuffer()
        FrameEncoder.write(request, requestID: id, flags: flags, into: &buffer)
        try send(Array(buffer.readableBytesView))
    }

    func hello(token: String = "") throws -> Frame {
        try send(.hello(HelloRequest(token: Array(token.utf8), clientName: "raw")), id: 1)
        return try readFrame()
    }

    /// Closes the sending side only: the server sees end of file and may still answer.
    func shutdownWriting() {
        shutdown(descriptor, Int32(SHUT_WR))
    }

    /// The next frame; throws on end of file or timeout.
    func readFrame() throws -> Frame {
        while true {
            if let frame = try decoder.decodeFrame(&received) { return frame }
            guard try fill() else { throw TestFailure("end of file before a whole frame (\(received.readableBytes) bytes buffered)") }
        }
    }

    /// Whether the server closed the connection (end of file) with no further bytes.
    func readsEndOfFile() throws -> Bool {
        if received.readableBytes > 0 { return false }
        return try !fill()
    }

    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = read(descriptor, &chunk, chunk.count)
        if count == 0 { return false }
        if count < 0 {
            if errno == ECONNRESET { return false }
            throw TestFailure("read failed: errno \(errno)")
        }
        received.writeBytes(chunk[0..<count])
        return true
    }
}

/// The request frame header bytes, for hand-made frames.
func headerBytes(magic: UInt16 = FrameHeader.magic, version: UInt8 = 1, flags: UInt8 = 0, opcode: UInt16, requestID: UInt64, bodyLength: UInt32) -> [UInt8] {
    var buffer = ByteBuffer()
    buffer.writeInteger(magic, endianness: .little)
    buffer.writeInteger(version)
    buffer.writeInteger(flags)
    buffer.writeInteger(opcode, endianness: .little)
    buffer.writeInteger(UInt16(0), endianness: .little)
    buffer.writeInteger(requestID, endianness: .little)
    buffer.writeInteger(bodyLength, endianness: .little)
    return Array(buffer.readableBytesView)
}

extension Frame {
    var errorMessage: String {
        if case .failure(_, let message) = try? Response.decode(self) { return message }
        return ""
    }
}

extension RawConnection {
    /// Everything until end of file.
    func readAll() throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(descriptor, &chunk, chunk.count)
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return bytes
    }
}

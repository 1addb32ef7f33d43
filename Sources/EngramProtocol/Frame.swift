import NIOCore

/// One whole frame: its header and exactly `header.bodyLength` body bytes.
///
/// The body is a slice of the decoder's buffer (no copy); it lives as long as the frame value.
public struct Frame: Sendable, Equatable {
    public var header: FrameHeader
    public var body: ByteBuffer

    public init(header: FrameHeader, body: ByteBuffer) {
        self.header = header
        self.body = body
        self.header.bodyLength = UInt32(body.readableBytes)
    }

    /// The whole frame as bytes: header then body.
    public func write(into buffer: inout ByteBuffer) {
        header.write(into: &buffer)
        var body = body
        buffer.writeBuffer(&body)
    }
}

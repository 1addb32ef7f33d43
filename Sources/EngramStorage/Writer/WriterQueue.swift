/// A fixed-capacity first-in first-out ring of pending writes. Not synchronised: the writer guards
/// it with its `ConditionLock`. Its capacity is `Limits.writerQueueDepthMax`, allocated once.
struct WriterQueue {
    private var slots: [PendingWrite?]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) {
        slots = Array(repeating: nil, count: capacity)
    }

    var capacity: Int { slots.count }
    var isEmpty: Bool { count == 0 }
    var isFull: Bool { count == slots.count }

    mutating func append(_ write: PendingWrite) {
        precondition(!isFull, "append to a full writer queue of \(slots.count)")
        slots[(head + count) % slots.count] = write
        count += 1
    }

    /// Moves up to `countMax` writes whose payloads total at most `bytesMax` into `batch`; the
    /// first write is taken whatever its size, so one large write cannot block the queue.
    mutating func take(into batch: inout [PendingWrite], countMax: Int, bytesMax: Int) {
        var bytes = batch.reduce(0) { $0 + $1.payloadByteCount }
        while count > 0, batch.count < countMax {
            let next = slots[head]!
            if !batch.isEmpty && bytes + next.payloadByteCount > bytesMax { break }
            batch.append(next)
            bytes += next.payloadByteCount
            slots[head] = nil
            head = (head + 1) % slots.count
            count -= 1
        }
    }
}

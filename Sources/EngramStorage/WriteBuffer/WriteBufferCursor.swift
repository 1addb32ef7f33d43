/// A position in one table of one write buffer, for a reader with a bound LSN: it stops only at
/// keys that have a version at or below the bound (a tombstone included: the merging cursor above
/// it needs to see deletions).
///
/// Lifetime: holds the buffer, so the keys and values it returns stay valid while it lives.
struct WriteBufferCursor {
    let buffer: WriteBuffer
    let table: LMDBDatabase
    let bound: UInt64
    private(set) var node: WriteBufferNode?
    private(set) var version: WriteBufferVersion?

    init(buffer: WriteBuffer, table: LMDBDatabase, bound: UInt64) {
        self.buffer = buffer
        self.table = table
        self.bound = bound
    }

    var key: UnsafeRawBufferPointer? { node?.key }

    mutating func seek(atOrAfter key: UnsafeRawBufferPointer) {
        settleForward(buffer.firstNode(atOrAfter: key, table: table))
    }

    mutating func first() {
        settleForward(buffer.firstNode(table: table))
    }

    mutating func last() {
        settleBackward(buffer.lastNode(table: table))
    }

    mutating func next() {
        guard let current = node else { return }
        settleForward(current.next(0))
    }

    mutating func previous() {
        guard let current = node else { return }
        settleBackward(current.previous)
    }

    /// Positions at the last key before `key`, or nowhere.
    mutating func seek(before key: UnsafeRawBufferPointer) {
        if let atOrAfter = buffer.firstNode(atOrAfter: key, table: table) {
            settleBackward(atOrAfter.previous)
        } else {
            last()
        }
    }

    private mutating func settleForward(_ start: WriteBufferNode?) {
        settle(start, forward: true)
    }

    private mutating func settleBackward(_ start: WriteBufferNode?) {
        settle(start, forward: false)
    }

    /// Stops at the first node from `start` on, in the direction given, with a version visible at
    /// the bound; none when there is none.
    private mutating func settle(_ start: WriteBufferNode?, forward: Bool) {
        var candidate = start
        while let current = candidate {
            if let visible = current.version(atOrBelow: bound) {
                node = current
                version = visible
                return
            }
            candidate = forward ? current.next(0) : current.previous
        }
        node = nil
        version = nil
    }
}

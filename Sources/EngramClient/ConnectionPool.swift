import EngramProtocol
import NIOCore
import NIOPosix
import Synchronization

/// A fixed number of connection slots, filled lazily and refilled when a connection breaks.
///
/// Requests go round-robin over the slots. A slot whose connection closed or whose server went
/// away is reconnected by the next request that lands on it; concurrent requests on an empty slot
/// share one connection attempt.
final class ConnectionPool: Sendable {
    let configuration: EngramClientConfiguration
    let group: any EventLoopGroup
    private let slots: Mutex<[Slot]>
    private let slotCount: Int
    private let next = Atomic<Int>(0)
    private let closed = Atomic<Bool>(false)

    enum Slot {
        case empty
        case connecting(Task<EngramConnection, any Error>)
        case connected(EngramConnection)
    }

    init(configuration: EngramClientConfiguration, group: any EventLoopGroup) {
        precondition(configuration.connectionCount > 0, "connectionCount must be positive, got \(configuration.connectionCount)")
        self.configuration = configuration
        self.group = group
        self.slots = Mutex(Array(repeating: Slot.empty, count: configuration.connectionCount))
        self.slotCount = configuration.connectionCount
    }

    /// A usable connection from the next slot.
    func connection() async throws(EngramClientError) -> EngramConnection {
        guard !closed.load(ordering: .relaxed) else { throw EngramClientError(.connectionClosed, "the client is closed") }
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue % slotCount
        let configuration = self.configuration
        let group = self.group
        let found: Slot = slots.withLock { slots in
            switch slots[index] {
            case .connected(let connection) where connection.isUsable:
                return slots[index]
            case .connecting:
                return slots[index]
            default:
                let task = Task { () async throws -> EngramConnection in
                    try await EngramConnection.connect(configuration, group: group)
                }
                slots[index] = .connecting(task)
                return slots[index]
            }
        }
        let task: Task<EngramConnection, any Error>
        switch found {
        case .connected(let connection): return connection
        case .connecting(let connecting): task = connecting
        case .empty: preconditionFailure("a pool slot is empty right after it was filled")
        }
        do {
            let connection = try await task.value
            slots.withLock { slots in
                if case .connecting = slots[index] { slots[index] = .connected(connection) }
            }
            return connection
        } catch {
            slots.withLock { slots in
                if case .connecting = slots[index] { slots[index] = .empty }
            }
            if let error = error as? EngramClientError { throw error }
            throw EngramClientError(.connectFailed, "\(error)")
        }
    }

    func close() async {
        closed.store(true, ordering: .relaxed)
        let all = slots.withLock { slots -> [Slot] in
            defer { slots = Array(repeating: .empty, count: slots.count) }
            return slots
        }
        for current in all {
            switch current {
            case .connected(let connection): await connection.close()
            case .connecting(let task): await (try? task.value)?.close()
            case .empty: break
            }
        }
    }
}

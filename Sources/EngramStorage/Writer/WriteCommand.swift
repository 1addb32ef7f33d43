/// How long a caller waits before its write is acknowledged.
public enum Durability: UInt8, Sendable {
    /// Acknowledged after the commit-log record is on disk (`fdatasync` returned). Survives
    /// `kill -9`, power loss and an OS crash. The default.
    case durable = 0
    /// Acknowledged once applied and visible, before the sync. Survives `kill -9` of the server
    /// (the bytes are in the kernel's page cache); a power loss or OS crash may take the writes
    /// acknowledged in the last `Limits.appliedSyncDelayMilliseconds`.
    case applied = 1
}

/// A write a caller asks of the store: validated and applied on the writer thread, inside the
/// batch's LMDB transaction.
///
/// `execute` checks the command's preconditions against the current state and either throws
/// without changing anything, or applies the change through `context.apply(_:)` and returns the
/// outcome. Throwing after `context.apply` has changed something aborts the whole batch, so a
/// command checks everything it can before it applies.
public protocol WriteCommand: Sendable {
    associatedtype Outcome: Sendable
    /// The payload bytes this command adds to a batch, for `Limits.batchBytesMax`.
    var payloadByteCount: Int { get }
    /// Checks sizes and shapes that need no stored state, before the command is queued.
    func validate(_ limits: Limits) throws(EngramError)
    func execute(in context: inout WriteContext) throws(EngramError) -> Outcome
    /// The namespace this command writes to, if any. While that namespace is being erased the
    /// writer refuses the command with `.busy` before it runs (docs/LIFECYCLE.md).
    var affectedNamespace: Namespace? { get }
}

extension WriteCommand {
    public func validate(_ limits: Limits) throws(EngramError) {}
    public var affectedNamespace: Namespace? { nil }
}

/// A command waiting in the writer queue, with the callback that gets its outcome.
class PendingWrite: @unchecked Sendable {
    let durability: Durability
    let payloadByteCount: Int

    init(durability: Durability, payloadByteCount: Int) {
        self.durability = durability
        self.payloadByteCount = payloadByteCount
    }

    /// Runs the command; keeps the outcome until `succeed` is called after the commit.
    func execute(in context: inout WriteContext) throws(EngramError) {
        preconditionFailure("PendingWrite.execute must be overridden")
    }

    func succeed() { preconditionFailure("PendingWrite.succeed must be overridden") }
    func fail(_ error: EngramError) { preconditionFailure("PendingWrite.fail must be overridden") }
}

/// `@unchecked Sendable`: `outcome` is written and read only on the writer thread, between
/// `execute` and `succeed`.
final class TypedPendingWrite<Command: WriteCommand>: PendingWrite, @unchecked Sendable {
    let command: Command
    let completion: @Sendable (Result<Command.Outcome, EngramError>) -> Void
    private var outcome: Command.Outcome?

    init(_ command: Command, durability: Durability, completion: @escaping @Sendable (Result<Command.Outcome, EngramError>) -> Void) {
        self.command = command
        self.completion = completion
        super.init(durability: durability, payloadByteCount: command.payloadByteCount)
    }

    override func execute(in context: inout WriteContext) throws(EngramError) {
        if let namespace = command.affectedNamespace, context.lifecycle.markersMayExistForWriter {
            try context.refuseIfErasing(namespace)
        }
        outcome = try command.execute(in: &context)
    }

    override func succeed() {
        guard let outcome else { preconditionFailure("succeed() before a successful execute()") }
        self.outcome = nil
        completion(.success(outcome))
    }

    override func fail(_ error: EngramError) {
        outcome = nil
        completion(.failure(error))
    }
}

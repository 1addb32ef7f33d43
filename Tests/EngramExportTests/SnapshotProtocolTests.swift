@testable import EngramClient
import EngramProtocol
import EngramStorage
import FoundationEssentials
import NIOCore
import Testing

/// The snapshot opcodes over a real connection (docs/PROTOCOL.md, "Snapshots and export"): the
/// snapshot's isolation, chunk order, and each refusal with its status and message.
@Suite(.serialized)
struct SnapshotProtocolTests {
    /// Sends one raw `snapshot read` and returns the chunk or the error.
    func read(_ connection: EngramConnection, _ id: UInt64, rawStream: UInt8, since: UInt64 = 0, chunk: UInt32) async -> Result<SnapshotChunk, EngramClientError> {
        let request = SnapshotReadRequest(snapshotID: id, rawStream: rawStream, since: since, chunkIndex: chunk)
        do {
            let frame = try await connection.awaitFrame(connection.issue(.snapshotRead) { request.encode(into: &$0) })
            var reader = try EngramConnection.bodyReader(frame)
            return .success(try SnapshotChunk.decode(&reader))
        } catch let error as EngramClientError {
            return .failure(error)
        } catch {
            return .failure(EngramClientError(.protocolViolation, "\(error)"))
        }
    }

    func failure(_ result: Result<SnapshotChunk, EngramClientError>) -> EngramClientError? {
        if case .failure(let error) = result { return error }
        return nil
    }

    @Test func aSnapshotSeesItsInstantAndRefusesWhatIsOutOfOrder() async throws {
        let engram = try await EngramFixture.start(limits: Limits.default)
        var data = DataSet(namespace: engram.namespace, now: ExportClockForTests.wallMicroseconds(), seed: 5)
        try await DataSet.writeAll((0..<50).map { _ in data.lead() }, to: engram.store)
        let connection = try await EngramConnection.connect(engram.clientConfiguration)
        let snapshot = try await connection.openSnapshot(namespace: engram.namespace.name)
        #expect(snapshot.info.snapshotID == 1)
        #expect(snapshot.info.holdSecondsMax == 600)

        // Written after the snapshot opened: not in it.
        try await DataSet.writeAll((0..<10).map { _ in data.lead() }, to: engram.store)
        var leads = 0
        var stream = snapshot.stream(.leads)
        while let chunk = try await stream.next() { leads += chunk.rowCount }
        #expect(leads == 50)
        // `since` the snapshot's own version: nothing changed after it, in the snapshot.
        var since = snapshot.stream(.leads, since: snapshot.info.version)
        var changed = 0
        while let chunk = try await since.next() { changed += chunk.rowCount }
        #expect(changed == 0)

        let id = snapshot.info.snapshotID
        let skipped = failure(await read(connection, id, rawStream: SnapshotStream.leadIDs.rawValue, chunk: 1))
        #expect(skipped?.code == .serverInvalidArgument)
        #expect(skipped?.message == "stream lead_ids was not started: read chunk 0 first")
        _ = try await read(connection, id, rawStream: SnapshotStream.leadIDs.rawValue, chunk: 0).get()
        let outOfOrder = failure(await read(connection, id, rawStream: SnapshotStream.leadIDs.rawValue, chunk: 5))
        #expect(outOfOrder?.message == "stream lead_ids is at chunk 1; the read asks for chunk 5")
        let withSince = failure(await read(connection, id, rawStream: SnapshotStream.leadIDs.rawValue, since: 3, chunk: 0))
        #expect(withSince?.message == "stream lead_ids takes no since; got 3")
        let unknown = failure(await read(connection, id, rawStream: 99, chunk: 0))
        #expect(unknown?.code == .serverInvalidArgument)
        #expect(unknown?.message == "stream 99 is not one this server knows")
        let other = failure(await read(connection, 77, rawStream: SnapshotStream.leads.rawValue, chunk: 0))
        #expect(other?.code == .notFound)
        #expect(other?.message == "no snapshot 77 is open on this connection")

        #expect(try await snapshot.close() == true)
        #expect(try await snapshot.close() == false)
        #expect(engram.store.openSnapshotCount == 0)
        await connection.close()
        await engram.stop()
    }

    /// Held past snapshotHoldSecondsMax, a snapshot is closed by the server, which says so. (A
    /// test of its own, so that the 2 s limit cannot cut the reads above short on a loaded machine.)
    @Test func aSnapshotHeldPastItsLimitIsClosedByTheServer() async throws {
        var limits = Limits.default
        limits.snapshotHoldSecondsMax = 2
        let engram = try await EngramFixture.start(limits: limits)
        let connection = try await EngramConnection.connect(engram.clientConfiguration)
        let held = try await connection.openSnapshot(namespace: engram.namespace.name)
        #expect(held.info.holdSecondsMax == 2)
        try await Task.sleep(for: .milliseconds(2_600))
        let expired = failure(await read(connection, held.info.snapshotID, rawStream: SnapshotStream.leads.rawValue, chunk: 0))
        #expect(expired?.code == .notFound)
        #expect(expired?.message == "snapshot 1 was closed after snapshotHoldSecondsMax (2 s)")
        #expect(engram.store.openSnapshotCount == 0)
        await connection.close()
        await engram.stop()
    }
}

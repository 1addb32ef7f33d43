import FoundationEssentials

/// The fuzz targets of the engine's value decoders: the batch payload with every redo operation,
/// the checkpoint file, and the stored semantic fact. Each has one canonical encoding, so the
/// check is the same for all three: what a decoder accepts encodes back to exactly the bytes it
/// was given, and what it refuses it refuses with `.corrupt`.

/// Input: a batch payload (docs/STORAGE.md, "Batch payload"), read by `BatchPayloadReader` and
/// decoded through `RedoOpcode.decode`, as replay does before it applies each operation.
enum RedoFuzzTarget {
    static func run(_ buffer: UnsafeRawBufferPointer) -> Bool {
        do throws(EngramError) {
            var payload = try BatchPayloadReader(buffer, source: "a fuzzed batch payload", baseOffset: 0)
            var encoded = ByteWriter()
            encoded.reserve(CommitLogFormat.headerBytes)
            BatchPayload.writeHeader(timeMicroseconds: payload.batchTimeMicroseconds, into: &encoded)
            var count: UInt32 = 0
            while let operation = try payload.nextOperation() {
                append(operation, to: &encoded)
                count += 1
            }
            BatchPayload.patchOperationCount(count, in: &encoded)
            let accepted = Array(buffer)
            let again = Array(encoded.bytes.dropFirst(CommitLogFormat.headerBytes))
            fuzzCheck(again == accepted, "redo", "a payload of \(accepted.count) bytes decodes to operations that encode as \(again.count) different bytes: \(firstDifference(accepted, again))")
            return true
        } catch {
            fuzzCheck(error.code == .corrupt, "redo", "refused with \(error), not .corrupt")
            return false
        }
    }

    private static func append(_ operation: some RedoOperation, to writer: inout ByteWriter) {
        BatchPayload.append(operation, to: &writer)
    }
}

/// Input: `control:u8 file`. The file is read by `CheckpointFile.read` from a `MemoryFileSystem`,
/// as a store opening would. Control bit 0: recompute the trailing checksum first.
enum CheckpointFuzzTarget {
    static func run(_ buffer: UnsafeRawBufferPointer) -> Bool {
        var input = FuzzInput(buffer)
        guard let control = input.byte() else { return false }
        var file = input.rest()
        if control & 1 != 0 { FuzzChecksums.fixCheckpoint(&file) }
        let fileSystem = MemoryFileSystem()
        try! fileSystem.setContents(file, of: "/" + Checkpoint.fileName)
        do throws(EngramError) {
            guard let checkpoint = try CheckpointFile.read(directory: "/", fileSystem: fileSystem) else {
                fatalError("checkpoint: the file is there but read found none")
            }
            fuzzCheck((512...65_536).contains(checkpoint.pageBytes), "checkpoint", "accepted a page size of \(checkpoint.pageBytes)")
            fuzzCheck(checkpoint.metaPages.count == 2 * checkpoint.pageBytes, "checkpoint", "\(checkpoint.metaPages.count) bytes of meta pages for pages of \(checkpoint.pageBytes)")
            let again = checkpoint.encoded()
            fuzzCheck(again == file, "checkpoint", "a file of \(file.count) bytes decodes to a checkpoint that encodes differently: \(firstDifference(file, again))")
            return true
        } catch {
            fuzzCheck(error.code == .corrupt && error.file == "/" + Checkpoint.fileName, "checkpoint", "refused with \(error), not .corrupt naming the file")
            return false
        }
    }
}

/// Input: a stored fact (docs/STORAGE.md, "semantic"), decoded by `SemanticFactLayout.decode`
/// as reads and replay do. Beyond encoding back to the same bytes, an accepted fact must be one
/// the write path could have stored whatever the limits: no empty tag, no non-finite component.
enum SemanticFactFuzzTarget {
    static let id = UUID(uuid: (0x5e, 0x3a, 0x41, 0x7c, 0x00, 0x01, 0x40, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01))

    static func run(_ buffer: UnsafeRawBufferPointer) -> Bool {
        do throws(EngramError) {
            let stored = try SemanticFactLayout.decode(buffer, id: id, source: "a fuzzed fact")
            let fact = stored.fact
            fuzzCheck(fact.id == id, "semantic-fact", "the id changed")
            fuzzCheck(!fact.tags.contains(where: \.isEmpty), "semantic-fact", "accepted an empty tag")
            if let vector = fact.vector {
                fuzzCheck(!vector.isEmpty, "semantic-fact", "accepted an empty vector instead of none")
                fuzzCheck(vector.allSatisfy(\.isFinite), "semantic-fact", "accepted a non-finite vector component")
            }
            var writer = ByteWriter()
            SemanticFactLayout.encode(fact, version: stored.version, into: &writer)
            let accepted = Array(buffer)
            fuzzCheck(writer.bytes == accepted, "semantic-fact", "a fact of \(accepted.count) bytes decodes to one that encodes differently: \(firstDifference(accepted, writer.bytes))")
            fuzzCheck(SemanticFactLayout.encodedByteCount(fact) == accepted.count, "semantic-fact", "encodedByteCount disagrees with the encoding")
            return true
        } catch {
            fuzzCheck(error.code == .corrupt, "semantic-fact", "refused with \(error), not .corrupt")
            return false
        }
    }
}

/// Where two byte strings first differ, for a check's message.
func firstDifference(_ expected: [UInt8], _ actual: [UInt8]) -> String {
    let index = (0..<min(expected.count, actual.count)).first(where: { expected[$0] != actual[$0] }) ?? min(expected.count, actual.count)
    return "first difference at byte \(index) (\(expected.count) bytes given, \(actual.count) encoded)"
}

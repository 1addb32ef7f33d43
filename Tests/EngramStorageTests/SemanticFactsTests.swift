@testable import EngramStorage
import FoundationEssentials
import Testing

@Suite struct SemanticFactsTests {
    let idA = UUID(uuidString: "00000000-0000-4000-8000-00000000000A")!
    let idB = UUID(uuidString: "00000000-0000-4000-8000-00000000000B")!

    @Test func putGetDelete() async throws {
        try await withStore { store, _ in
            let fact = SemanticFact(id: idA, tags: ["segment:smb", "source:webinar"], body: bytes("SMB leads from webinars convert 2x"), vector: [0.25, -1.5, 3])
            let version = try await store.write(SemanticPut(namespace: crm, fact: fact))
            #expect(try store.semanticGet(namespace: crm, id: idA) == StoredFact(fact: fact, version: version))
            #expect(try store.semanticGet(namespace: billing, id: idA) == nil)
            #expect(try await store.write(SemanticDelete(namespace: crm, id: idA)) == true)
            #expect(try await store.write(SemanticDelete(namespace: crm, id: idA)) == false)
            #expect(try store.semanticGet(namespace: crm, id: idA) == nil)
        }
    }

    @Test func factWithoutVectorOrTags() async throws {
        try await withStore { store, _ in
            let fact = SemanticFact(id: idB, body: [])
            let version = try await store.write(SemanticPut(namespace: crm, fact: fact))
            #expect(try store.semanticGet(namespace: crm, id: idB) == StoredFact(fact: fact, version: version))
        }
    }

    @Test func scanPagesInIdOrder() async throws {
        try await withStore { store, _ in
            var ids: [UUID] = []
            for index in 0..<25 {
                let id = CrashValues.factID(task: 25 - index, slot: 0)
                ids.append(id)
                _ = try await store.write(SemanticPut(namespace: crm, fact: SemanticFact(id: id, body: bytes("\(index)"))))
            }
            _ = try await store.write(SemanticPut(namespace: billing, fact: SemanticFact(id: idA, body: [])))
            let sorted = ids.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
            var seen: [UUID] = []
            var after: UUID? = nil
            repeat {
                let page = try store.semanticScan(namespace: crm, after: after, limit: 10)
                seen += page.facts.map(\.fact.id)
                after = page.resumeAfter
            } while after != nil
            #expect(seen == sorted)
        }
    }

    @Test func validationNamesTheProblem() async throws {
        var limits = Limits()
        limits.semanticTagCountMax = 2
        limits.semanticVectorDimensionsMax = 3
        try await withStore(limits: limits) { store, _ in
            let tooManyTags = await engramError { _ = try await store.write(SemanticPut(namespace: crm, fact: SemanticFact(id: idA, tags: ["a", "b", "c"], body: []))) }
            #expect(tooManyTags == EngramError(.valueTooLarge, "fact has 3 tags, over semanticTagCountMax 2"))
            let emptyTag = await engramError { _ = try await store.write(SemanticPut(namespace: crm, fact: SemanticFact(id: idA, tags: [""], body: []))) }
            #expect(emptyTag == EngramError(.invalidArgument, "a tag must not be empty"))
            let wideVector = await engramError { _ = try await store.write(SemanticPut(namespace: crm, fact: SemanticFact(id: idA, body: [], vector: [1, 2, 3, 4]))) }
            #expect(wideVector == EngramError(.valueTooLarge, "vector of 4 dimensions exceeds semanticVectorDimensionsMax 3"))
            let emptyVector = await engramError { _ = try await store.write(SemanticPut(namespace: crm, fact: SemanticFact(id: idA, body: [], vector: []))) }
            #expect(emptyVector?.code == .invalidArgument)
            let notFinite = await engramError { _ = try await store.write(SemanticPut(namespace: crm, fact: SemanticFact(id: idA, body: [], vector: [1, .nan]))) }
            #expect(notFinite == EngramError(.invalidArgument, "vector component 1 is nan; components must be finite"))
        }
    }

    @Test func storedLayoutIsChecked() throws {
        var writer = ByteWriter()
        SemanticFactLayout.encode(SemanticFact(id: idA, tags: ["t"], body: bytes("b")), version: 9, into: &writer)
        var damaged = writer.bytes
        damaged[0] = 2
        #expect(throws: EngramError.self) { try damaged.withBytes { (buffer) throws(EngramError) in _ = try SemanticFactLayout.decode(buffer, id: idA, source: "test") } }
        let truncated = Array(writer.bytes.dropLast())
        let error = #expect(throws: EngramError.self) { try truncated.withBytes { (buffer) throws(EngramError) in _ = try SemanticFactLayout.decode(buffer, id: idA, source: "test") } }
        #expect(error?.code == .corrupt)
        #expect(error?.message == "the body needs 1 bytes, 0 remain")
    }
}

import EngramStorage
import Testing

@Suite struct LongTermMemoryTests {
    @Test func putThenGetReturnsTheValueAndItsVersion() async throws {
        try await withStore { store, _ in
            let version = try await store.write(LongTermPut(namespace: crm, key: bytes("profile:acme"), value: bytes("enterprise")))
            #expect(version == 1)
            #expect(try store.longTermGet(namespace: crm, key: bytes("profile:acme")) == StoredValue(version: 1, bytes: bytes("enterprise")))
            let second = try await store.write(LongTermPut(namespace: crm, key: bytes("profile:acme"), value: bytes("smb")))
            #expect(second == 2)
            #expect(try store.longTermGet(namespace: crm, key: bytes("profile:acme")) == StoredValue(version: 2, bytes: bytes("smb")))
        }
    }
}

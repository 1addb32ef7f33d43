@testable import EngramServer
import EngramProtocol
import EngramStorage
import Testing

@Suite struct TokenTableTests {
    @Test func grantsFromFlagsAndAFile() throws {
        var table = TokenTable()
        #expect(table.isOpen)
        try table.add(specification: "agent-1:write:crm")
        try table.add(fileContents: """
            # tokens of the staging cluster
            agent-1  read   billing   # a second grant for the same token
            ops      admin  *

            """)
        #expect(!table.isOpen)
        let agent = try #require(table.grants(for: Array("agent-1".utf8)))
        #expect(agent == [Grant(role: .write, namespace: "crm"), Grant(role: .read, namespace: "billing")])
        #expect(agent.role(in: "crm") == .write)
        #expect(agent.role(in: "billing") == .read)
        #expect(agent.role(in: "other") == nil)
        #expect(agent.strongestRole == .write)
        let ops = try #require(table.grants(for: Array("ops".utf8)))
        #expect(ops.role(in: "anything") == .admin)
        #expect(table.grants(for: Array("agent-2".utf8)) == nil)
        #expect(table.grants(for: Array("agent-".utf8)) == nil)
        #expect(table.grants(for: []) == nil)
    }

    @Test func badLinesNameTheirLine() {
        var table = TokenTable()
        #expect(throws: EngramError(.invalidArgument, "tokens file line 2: expected TOKEN ROLE NAMESPACE, got 2 fields")) {
            try table.add(fileContents: "a read crm\nb read\n")
        }
        #expect(throws: EngramError(.invalidArgument, "tokens file line 1: role \"owner\" is not read, write or admin")) {
            try table.add(fileContents: "a owner crm\n")
        }
        #expect(throws: EngramError(.invalidArgument, "a token grant is TOKEN:ROLE:NAMESPACE, got 2 parts")) {
            try table.add(specification: "a:read")
        }
        #expect(throws: EngramError.self) { try table.add(specification: "a:read:bad name") }
    }

    @Test func constantTimeComparisonIsExact() {
        #expect(TokenTable.constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        #expect(!TokenTable.constantTimeEquals(Array("abc".utf8), Array("abd".utf8)))
        #expect(!TokenTable.constantTimeEquals(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!TokenTable.constantTimeEquals([], Array("a".utf8)))
        // Lengths that differ by a multiple of 256 still differ.
        #expect(!TokenTable.constantTimeEquals([UInt8](repeating: 0, count: 256), []))
    }
}

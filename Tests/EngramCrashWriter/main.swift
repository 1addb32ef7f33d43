// A child process for the crash tests. It opens a store, writes through the group-commit writer
// from many tasks at once, and prints one line per acknowledged write, flushed before the next
// write begins, until the test kills it with SIGKILL.
//
// Usage: engram-crash-writer DIRECTORY ROUND TASKS
//
// Each task owns keys "t<task>-k<0..<16>" and facts "t<task>-f<0..<4>" in namespace "crash", and
// writes values that encode (round, task, sequence), so the test can check any value it finds for
// self-consistency. It also upserts four leads and appends metric events to one campaign per task,
// unannounced: the test checks the records' consistency after each kill. Lines:
//   begin <task> <sequence> (put <key> | delete <key> | fact <slot>)   (before the write)
//   ack put <key> <version> <round> <task> <sequence>
//   ack delete <key> <round> <task> <sequence>
//   ack fact <task> <slot> <version> <round> <sequence>
#if canImport(Glibc)
import Glibc
#endif
import EngramStorage
import FoundationEssentials

func emit(_ line: String, to descriptor: Int32 = 1) {
    let bytes = Array((line + "\n").utf8)
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if written <= 0 { exit(3) }
            offset += written
        }
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 4, let round = Int(arguments[2]), let taskCount = Int(arguments[3]) else {
    emit("usage: engram-crash-writer DIRECTORY ROUND TASKS", to: 2)
    exit(2)
}

let store: EngramStore
do {
    store = try EngramStore.open(StoreConfiguration(directory: arguments[1]))
} catch {
    emit("open failed: \(error)", to: 2)
    exit(1)
}
emit("ready")
let namespace = try! Namespace("crash")

await withTaskGroup(of: Void.self) { group in
    for task in 0..<taskCount {
        group.addTask {
            var generator = SystemRandomNumberGenerator()
            var sequence = 0
            // Records too (docs/RECORDS.md): a campaign per task, leads and metric events written
            // unannounced (no begin/ack lines); the test checks their consistency after each kill.
            let campaignID = CrashValues.factID(task: task, slot: 200)
            do {
                _ = try await store.write(CampaignUpsert(namespace: namespace, id: campaignID, name: "c\(task)", type: "email", status: .active, budgetCents: 0))
            } catch {
                emit("error \(error)")
            }
            while true {
                sequence += 1
                let key = "t\(task)-k\(Int.random(in: 0..<16, using: &generator))"
                let choice = Int.random(in: 0..<10, using: &generator)
                if choice == 2 {
                    do {
                        let slot = sequence % 4
                        _ = try await store.write(LeadUpsert(namespace: namespace, id: CrashValues.factID(task: task, slot: 100 + slot), email: "t\(task)-l\(slot)@crash.test",
                                                             score: sequence % 101, status: ["new", "qualified"][sequence % 2], createdAtMicroseconds: Int64(sequence)))
                        _ = try await store.write(CampaignMetricAppend(namespace: namespace, event: CampaignMetricEvent(
                            campaignID: campaignID, timeMicroseconds: Int64(sequence) * 60_000_000, sent: UInt32(sequence % 1_000), opened: 1, clicked: 0, converted: 0)))
                    } catch {
                        emit("error \(error)")
                    }
                    continue
                }
                let slot = sequence % 4
                let operation = choice == 0 ? "delete \(key)" : choice == 1 ? "fact \(slot)" : "put \(key)"
                emit("begin \(task) \(sequence) \(operation)")
                do {
                    if choice == 0 {
                        _ = try await store.write(LongTermDelete(namespace: namespace, key: Array(key.utf8)))
                        emit("ack delete \(key) \(round) \(task) \(sequence)")
                    } else if choice == 1 {
                        let fact = SemanticFact(id: CrashValues.factID(task: task, slot: slot), tags: ["r\(round)", "t\(task)"], body: CrashValues.value(round: round, task: task, sequence: sequence), vector: [Float(round), Float(task), Float(sequence)])
                        let version = try await store.write(SemanticPut(namespace: namespace, fact: fact))
                        emit("ack fact \(task) \(slot) \(version) \(round) \(sequence)")
                    } else {
                        let value = CrashValues.value(round: round, task: task, sequence: sequence)
                        let version = try await store.write(LongTermPut(namespace: namespace, key: Array(key.utf8), value: value))
                        emit("ack put \(key) \(version) \(round) \(task) \(sequence)")
                    }
                } catch {
                    emit("error \(error)")
                }
            }
        }
    }
}

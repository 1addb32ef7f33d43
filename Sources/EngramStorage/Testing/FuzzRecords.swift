/// The records' fuzz target: lead, campaign and campaign metric event records (docs/RECORDS.md),
/// decoded by the public initializers the store, the server and the client use.
///
/// Input: `kind:u8 record`; the kind modulo 3 picks the layout: 0 lead, 1 campaign, 2 metric
/// event. Each decoder checks every field against the default limits (a lead's metadata through
/// the JSON validator). What it accepts must encode back (`.record`) to exactly the bytes given;
/// what it refuses it refuses as `.corrupt`.
enum RecordsFuzzTarget {
    static func run(_ buffer: UnsafeRawBufferPointer) -> Bool {
        var input = FuzzInput(buffer)
        guard let kind = input.byte() else { return false }
        let record = input.rest()
        do throws(EngramError) {
            let again: [UInt8]
            switch kind % 3 {
            case 0: again = try Lead(record: record).record
            case 1: again = try Campaign(record: record).record
            default: again = try CampaignMetricEvent(record: record).record
            }
            fuzzCheck(again == record, "records", "a record of kind \(kind % 3) and \(record.count) bytes decodes to one that encodes differently: \(firstDifference(record, again))")
            return true
        } catch {
            fuzzCheck(error.code == .corrupt, "records", "refused with \(error), not .corrupt")
            return false
        }
    }
}

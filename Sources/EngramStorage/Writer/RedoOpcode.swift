/// Every kind of logged change, by the byte that names it in a commit-log batch payload.
///
/// The numbers are part of the on-disk format (docs/STORAGE.md, "Redo operations"): never reuse
/// one. A log holding an opcode this build does not know fails to replay with `.corrupt`.
public enum RedoOpcode: UInt8, Sendable, CaseIterable {
    case longTermPut = 1
    case longTermDelete = 2
    case semanticPut = 3
    case semanticDelete = 4
    case episodeAppend = 5
    case episodicRetention = 6
    case episodicSegmentSwap = 7
    // Erase's episodic steps (docs/LIFECYCLE.md).
    case episodicSeal = 8
    case episodicIndexRekey = 9
    case episodicSegmentFilter = 10

    // Records (docs/RECORDS.md): 16 to 31.
    case leadPut = 16
    case leadDelete = 17
    case campaignPut = 18
    case campaignDelete = 19
    case campaignMetricAppend = 20
    case campaignMetricsDelete = 21

    // Consolidation and erase (docs/LIFECYCLE.md): 32 to 47.
    case leadEngagementFold = 32
    case namespaceEraseBegin = 33
    case namespaceEraseRange = 34
    case namespaceEraseFinish = 35
    case leadEraseBegin = 36
    case leadEraseFinish = 37

    /// Decodes one operation of this kind from its body: the single table from opcode to type.
    /// Replay applies what it returns (`BatchPayloadReader.nextOperation`); the fuzz target checks
    /// that it encodes back to the same bytes. The switch is exhaustive, so a new opcode does not
    /// compile without its decoder, and replay and fuzzing pick it up from here.
    func decode(from reader: inout ByteReader) throws(EngramError) -> any RedoOperation {
        switch self {
        case .longTermPut: try LongTermPutOperation.decode(from: &reader)
        case .longTermDelete: try LongTermDeleteOperation.decode(from: &reader)
        case .semanticPut: try SemanticPutOperation.decode(from: &reader)
        case .semanticDelete: try SemanticDeleteOperation.decode(from: &reader)
        case .episodeAppend: try EpisodeAppendOperation.decode(from: &reader)
        case .episodicRetention: try EpisodicRetentionOperation.decode(from: &reader)
        case .episodicSegmentSwap: try EpisodicSwapOperation.decode(from: &reader)
        case .leadPut: try LeadPutOperation.decode(from: &reader)
        case .leadDelete: try LeadDeleteOperation.decode(from: &reader)
        case .campaignPut: try CampaignPutOperation.decode(from: &reader)
        case .campaignDelete: try CampaignDeleteOperation.decode(from: &reader)
        case .campaignMetricAppend: try CampaignMetricAppendOperation.decode(from: &reader)
        case .campaignMetricsDelete: try CampaignMetricsDeleteOperation.decode(from: &reader)
        case .episodicSeal: try EpisodicSealOperation.decode(from: &reader)
        case .episodicIndexRekey: try EpisodicIndexRekeyOperation.decode(from: &reader)
        case .episodicSegmentFilter: try EpisodicSegmentFilterOperation.decode(from: &reader)
        case .leadEngagementFold: try LeadEngagementFoldOperation.decode(from: &reader)
        case .namespaceEraseBegin: try NamespaceEraseBeginOperation.decode(from: &reader)
        case .namespaceEraseRange: try NamespaceEraseRangeOperation.decode(from: &reader)
        case .namespaceEraseFinish: try NamespaceEraseFinishOperation.decode(from: &reader)
        case .leadEraseBegin: try LeadEraseBeginOperation.decode(from: &reader)
        case .leadEraseFinish: try LeadEraseFinishOperation.decode(from: &reader)
        }
    }
}

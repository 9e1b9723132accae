package store

// SetCommandResponsesSQL is SetCommandResponses' statement, for plan tests.
const SetCommandResponsesSQL = setCommandResponsesSQL

// InsertKnownClicksSQL is InsertKnownClicks' statement, for plan tests.
const InsertKnownClicksSQL = insertKnownClicksSQL

// PartnersByCodeSQL is QueuePartnersByCode's statement, for plan tests.
const PartnersByCodeSQL = partnersByCodeSQL

// LoadPartnersSQL is QueueLoadPartners' statement, for plan tests.
var LoadPartnersSQL = loadPartnersSQL(ForUpdate)

// LoadCommandsSQL is QueueLoadCommands' statement, for plan tests.
const LoadCommandsSQL = loadCommandsSQL

// ExpireCommandsSQL is ExpireCommands' statement, for plan tests.
const ExpireCommandsSQL = expireCommandsSQL

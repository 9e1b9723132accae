package store

// SetCommandResponsesSQL is SetCommandResponses' statement, for plan tests.
const SetCommandResponsesSQL = setCommandResponsesSQL

// InsertKnownClicksSQL is InsertKnownClicks' statement, for plan tests.
const InsertKnownClicksSQL = insertKnownClicksSQL

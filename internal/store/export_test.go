package store

// SetCommandResponsesSQL is SetCommandResponses' statement, for plan tests.
const SetCommandResponsesSQL = setCommandResponsesSQL

package store

// SetCommandResponsesSQL and SaveOrdersSQL are the statements of the batch
// writes, for plan tests.
const (
	SetCommandResponsesSQL = setCommandResponsesSQL
	SaveOrdersSQL          = saveOrdersSQL
)

-- AWS error codes.
-- Authority: AWS SDKs and Tools Reference Guide, "Retry behavior" (standard
-- mode): the throttling and transient error codes below are the lists the
-- SDKs retry (botocore/retries/standard.py, aws-sdk-java-v2
-- AwsErrorCode, aws-sdk-go-v2 aws/retry); the rest follow the HTTP status
-- each service documents for the code.

local P_CODE, P_EMBEDDED = 200, 150
local AWS = { "aws", "s3", "dynamodb", "sqs", "sns", "sts", "iam", "ec2", "lambda", "kms" }

local GROUPS = {
  ["resource_exhausted.rate_limited"] = {   -- SDK throttling codes
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "EC2ThrottledException",
    "RequestLimitExceededException",
  },
  ["deadline_exceeded"] = { "RequestTimeout", "RequestTimeoutException" },
  ["unavailable"] = {                       -- SDK transient codes / 5xx
    "PriorRequestNotComplete", "ServiceUnavailable", "ServiceUnavailableException",
    "IDPCommunicationError",
  },
  ["internal.server_error"] = {            -- SDK transient: HTTP 500 family
    "InternalError", "InternalFailure", "InternalServerError", "InternalServerException",
  },
  ["unauthenticated"] = {
    "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
    "SignatureDoesNotMatch", "InvalidSignatureException", "IncompleteSignature",
    "MissingAuthenticationToken", "MissingAuthenticationTokenException", "AuthFailure",
    "InvalidAccessKeyId", "InvalidToken", "RequestExpired", "NotAuthorizedException",
    "TokenRefreshRequired",
  },
  ["permission_denied"] = {
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
    "AuthorizationError", "Forbidden", "AllAccessDisabled", "AccountProblem", "OptInRequired",
    "KMSAccessDeniedException",
  },
  ["not_found"] = {
    "NoSuchKey", "NoSuchBucket", "NoSuchUpload", "NoSuchVersion", "NoSuchEntity",
    "NoSuchEntityException", "ResourceNotFoundException", "NotFound", "NotFoundException",
    "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "InvalidInstanceID.NotFound",
    "InvalidGroup.NotFound", "InvalidAMIID.NotFound", "NoSuchLifecycleConfiguration",
    "ParameterNotFound", "SecretNotFoundException", "NoSuchHostedZone", "TableNotFoundException",
  },
  ["invalid_argument"] = {
    "ValidationException", "ValidationError", "InvalidParameterValue", "InvalidParameterException",
    "InvalidParameterCombination", "InvalidParameter", "MissingParameter", "InvalidRequest",
    "InvalidRequestException", "InvalidArgument", "MalformedPolicyDocument",
    "MalformedPolicyDocumentException", "SerializationException", "InvalidQueryParameter",
    "MalformedXML", "InvalidBucketName", "InvalidInputException", "EntityTooLarge",
    "KeyTooLongError", "InvalidDigest", "BadDigest", 
  },
  ["failed_precondition"] = {
    "ConditionalCheckFailedException", "PreconditionFailed", "InvalidObjectState",
    "IncorrectState", "InvalidStateException", "KMSInvalidStateException", "DisabledException",
    "ResourceNotReadyException", "DependencyViolation", "ResourceInUseException",
    "DryRunOperation",
  },
  ["aborted"] = {
    "TransactionConflictException", "TransactionCanceledException", "OperationAborted",
    "ConcurrentModificationException", "ConflictException", "ResourceConflictException",
    "OptimisticLockException", "IdempotentParameterMismatch",
  },
  ["already_exists"] = {
    "BucketAlreadyExists", "BucketAlreadyOwnedByYou", "EntityAlreadyExists",
    "EntityAlreadyExistsException", "AlreadyExistsException", "ResourceAlreadyExistsException",
    "ResourceExistsException", "TableAlreadyExistsException", "InvalidGroup.Duplicate",
    "QueueAlreadyExists",
  },
  ["resource_exhausted.quota"] = {
    "ServiceQuotaExceededException", "QuotaExceededException", "TooManyBuckets",
    "ItemCollectionSizeLimitExceededException", "InstanceLimitExceeded", "VcpuLimitExceeded",
    "AddressLimitExceeded", "OverLimit",
  },
  ["out_of_range"] = { "InvalidRange", "RequestedRangeNotSatisfiable" },
  ["unimplemented"] = { "NotImplemented", "UnsupportedOperation", "UnsupportedOperationException",
                        "InvalidAction" },
  ["cancelled"] = { "RequestCanceled" },
}

local cats = {}
for c in pairs(GROUPS) do cats[#cats + 1] = c end
table.sort(cats)

local function esc(s) return (s:gsub("%.", "\\.")) end

for _, c in ipairs(cats) do
  local list = {}
  for _, code in ipairs(GROUPS[c]) do
    list[#list + 1] = code
  end
  rule("aws-" .. c) {
    when = { domain = AWS, code = list }, category = c, priority = P_CODE,
  }
  for _, code in ipairs(list) do
    -- botocore: "An error occurred (ThrottlingException) when calling ..."
    rule("aws-" .. code .. "-boto") {
      when = { message = re("\\(" .. esc(code) .. "\\) when calling") },
      category = c, priority = P_EMBEDDED + 10,
    }
    -- SDK for Java v1: "(Service: ...; Status Code: 400; Error Code: ThrottlingException; ...)"
    rule("aws-" .. code .. "-java") {
      when = { message = re("Error Code: " .. esc(code) .. "\\b") },
      category = c, priority = P_EMBEDDED + 10,
    }
    -- SDK for Go v2 "api error ThrottlingException: Rate exceeded", JS v3 name
    rule("aws-" .. code .. "-go") {
      when = { message = re("api error " .. esc(code) .. ":") },
      category = c, priority = P_EMBEDDED + 10,
    }
    -- Exception class names are distinctive enough on their own.
    -- (not ConcurrentModificationException: Java's is a programming error)
    if #code >= 16 and code:find("Exception$") and code ~= "ConcurrentModificationException" then
      rule("aws-" .. code .. "-name") {
        when = { message = re("\\b" .. esc(code) .. "\\b") },
        category = c, priority = P_EMBEDDED + 5,
      }
    end
  end
end

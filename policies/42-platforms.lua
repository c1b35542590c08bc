-- Texts of runtimes' network/TLS layers, .NET, container and cloud command
-- lines, and package managers, by their documented meaning (gRPC
-- doc/statuscodes.md; Kubernetes API status reasons, which are the gRPC-style
-- StatusReason values; Docker and registry error codes; npm/pip messages).
-- P_SPECIFIC (100): each names the failure, not a wrapper.

local P_SPECIFIC = 100
local n = 0
local function S(pattern, c)
  n = n + 1
  rule(string.format("plat-%03d-%s", n, c)) {
    when = { message = re(pattern) }, category = c, priority = P_SPECIFIC,
  }
end

---------------------------------------------------------------- Java network and TLS
S([=[java\.net\.SocketException: (?:Connection reset|Broken pipe|Socket closed)]=], "unavailable")
S([=[java\.net\.(?:NoRouteToHostException|PortUnreachableException)\b]=], "unavailable")
S([=[java\.net\.BindException\b]=], "failed_precondition")
S([=[javax\.net\.ssl\.(?:SSLPeerUnverifiedException|SSLHandshakeException)\b]=], "unavailable.tls")
S([=[java\.security\.cert\.(?:CertificateExpiredException|CertificateNotYetValidException|CertPathValidatorException)\b]=], "unavailable.tls")
S([=[No subject alternative (?:DNS )?names? matching]=], "unavailable.tls")
S([=[Remote host terminated the handshake|Unsupported or unrecognized SSL message]=], "unavailable.tls")
S([=[java\.io\.UncheckedIOException: java\.net\.ConnectException]=], "unavailable")
S([=[java\.nio\.channels\.ClosedChannelException\b|java\.nio\.channels\.AsynchronousCloseException\b]=], "unavailable")
S([=[java\.util\.concurrent\.RejectedExecutionException\b]=], "resource_exhausted")
S([=[java\.nio\.BufferOverflowException\b|java\.nio\.BufferUnderflowException\b]=], "internal")
S([=[java\.lang\.(?:NoSuchMethodError|NoSuchFieldError|AbstractMethodError|IncompatibleClassChangeError|UnsatisfiedLinkError)\b]=], "failed_precondition")
S([=[java\.lang\.ExceptionInInitializerError\b]=], "internal")

---------------------------------------------------------------- .NET
S([=[System\.Net\.Sockets\.SocketException.{0,80}(?:Connection refused|actively refused)]=], "unavailable")
S([=[System\.Net\.Sockets\.SocketException.{0,80}(?:Connection reset|forcibly closed)]=], "unavailable")
S([=[System\.Net\.Sockets\.SocketException.{0,80}(?:Name or service not known|No such host is known|nodename nor servname)]=], "unavailable")
S([=[The request was canceled due to the configured HttpClient\.Timeout]=], "deadline_exceeded")
S([=[The SSL connection could not be established|The remote certificate was rejected|RemoteCertificateNameMismatch|RemoteCertificateChainErrors]=], "unavailable.tls")
S([=[Response status code does not indicate success: 404]=], "not_found")
S([=[Response status code does not indicate success: 401]=], "unauthenticated")
S([=[Response status code does not indicate success: 403]=], "permission_denied")
S([=[Response status code does not indicate success: 429]=], "resource_exhausted.rate_limited")
S([=[Response status code does not indicate success: 50[234]]=], "unavailable")
S([=[Response status code does not indicate success: 500]=], "internal.server_error")
S([=[System\.IO\.EndOfStreamException\b|Unable to read beyond the end of the stream]=], "out_of_range")
S([=[System\.IO\.InvalidDataException\b]=], "invalid_argument")
S([=[System\.IO\.PathTooLongException\b]=], "invalid_argument")
S([=[System\.IO\.IOException: The process cannot access the file .{0,200} because it is being used by another process]=], "aborted")
S([=[System\.Security\.Cryptography\.CryptographicException\b]=], "invalid_argument")
S([=[System\.ObjectDisposedException\b|Cannot access a disposed object]=], "internal")
S([=[System\.InvalidCastException\b]=], "internal")
S([=[System\.StackOverflowException\b]=], "internal")
S([=[System\.UriFormatException\b|Invalid URI: ]=], "invalid_argument")
S([=[Microsoft\.Data\.SqlClient\.SqlException .{0,200}Timeout expired]=], "deadline_exceeded")
S([=[A network-related or instance-specific error occurred while establishing a connection to SQL Server]=], "unavailable")

---------------------------------------------------------------- Python network layers
S([=[urllib3\.exceptions\.NewConnectionError\b.{0,300}(?:Connection refused|Errno 111)]=], "unavailable")
S([=[urllib3\.exceptions\.(?:ProtocolError|MaxRetryError)\b.{0,300}(?:Connection reset|RemoteDisconnected|Connection aborted)]=], "unavailable")
S([=[urllib3\.exceptions\.(?:ReadTimeoutError|ConnectTimeoutError)\b]=], "deadline_exceeded")
S([=[Failed to establish a new connection: \[Errno -[23]\]]=],   "unavailable")
S([=[ssl\.SSLError: \[SSL: (?:WRONG_VERSION_NUMBER|TLSV1_ALERT_\w+|SSLV3_ALERT_\w+|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS_AVAILABLE)\]]=], "unavailable.tls")
S([=[ssl\.SSLZeroReturnError\b|ssl\.SSLEOFError\b]=], "unavailable")
S([=[aiohttp\.client_exceptions\.(?:ClientConnectorError|ServerDisconnectedError|ClientOSError)\b]=], "unavailable")
S([=[aiohttp\.client_exceptions\.(?:ServerTimeoutError|ConnectionTimeoutError|SocketTimeoutError)\b]=], "deadline_exceeded")
S([=[aiohttp\.client_exceptions\.ClientConnectorCertificateError\b]=], "unavailable.tls")
S([=[sqlalchemy\.exc\.(?:NoResultFound)\b|No row was found when one was required]=], "not_found")
S([=[sqlalchemy\.exc\.(?:MultipleResultsFound)\b]=], "failed_precondition")
S([=[sqlalchemy\.exc\.TimeoutError: QueuePool limit of size]=], "resource_exhausted")
S([=[pydantic(?:_core)?\.(?:_pydantic_core\.)?ValidationError\b|\d+ validation errors? for ]=], "invalid_argument")
S([=[jsonschema\.exceptions\.ValidationError\b]=], "invalid_argument")
S([=[botocore\.exceptions\.(?:NoCredentialsError|PartialCredentialsError|NoAuthTokenError)\b]=], "unauthenticated")
S([=[botocore\.exceptions\.(?:EndpointConnectionError|ConnectionClosedError)\b]=], "unavailable")
S([=[botocore\.exceptions\.(?:ReadTimeoutError|ConnectTimeoutError)\b]=], "deadline_exceeded")
S([=[botocore\.exceptions\.ParamValidationError\b|Parameter validation failed]=], "invalid_argument")

---------------------------------------------------------------- Go network layers
S([=[http: server closed idle connection]=], "unavailable")
S([=[net/http: HTTP/1\.x transport connection broken]=], "unavailable")
S([=[http2: (?:server sent GOAWAY|client connection lost|stream closed)]=], "unavailable")
S([=[tls: (?:first record does not look like a TLS handshake|handshake failure|protocol version not supported)]=], "unavailable.tls")
S([=[remote error: tls: ]=], "unavailable.tls")
S([=[dial tcp .{0,200}: connect: (?:no route to host|network is unreachable)]=], "unavailable")
S([=[write: broken pipe]=], "unavailable")
S([=[database is closed|sql: database is closed]=], "failed_precondition")
S([=[sql: transaction has already been committed or rolled back|sql: Tx is closed]=], "failed_precondition")
S([=[sql: Scan error on column]=], "invalid_argument")

---------------------------------------------------------------- Node.js network layers
S([=[\bEPIPE\b|write EPIPE]=], "unavailable")
S([=[\bERR_TLS_(?:CERT_ALTNAME_INVALID|HANDSHAKE_TIMEOUT|INVALID_PROTOCOL_VERSION)\b|\bERR_SSL_\w+\b]=], "unavailable.tls")
S([=[\bUND_ERR_(?:CLOSED|DESTROYED|ABORTED)\b|other side closed]=], "unavailable")
S([=[\bERR_HTTP_HEADERS_SENT\b|Cannot set headers after they are sent]=], "internal")
S([=[\bERR_UNHANDLED_REJECTION\b]=], "internal")
S([=[\bERR_INVALID_URL\b|\bERR_INVALID_URI\b|Invalid URL]=], "invalid_argument")
S([=[\bERR_FS_FILE_TOO_LARGE\b|File size .{0,40} is greater than 2 GiB]=], "out_of_range")
S([=[\bERR_REQUIRE_ESM\b|\bERR_UNSUPPORTED_DIR_IMPORT\b|\bERR_PACKAGE_PATH_NOT_EXPORTED\b]=], "failed_precondition")
S([=[\bSequelize(?:UniqueConstraint)Error\b]=], "already_exists")
S([=[\bSequelize(?:ForeignKeyConstraint)Error\b]=], "failed_precondition")
S([=[\bSequelize(?:Validation)Error\b]=], "invalid_argument")
S([=[\bSequelize(?:ConnectionRefused|HostNotFound|HostNotReachable|Connection)Error\b]=], "unavailable")
S([=[\bMongoServerSelectionError\b|\bMongoNetworkError\b]=], "unavailable")
S([=[\bMongoServerError: E11000 duplicate key]=], "already_exists")

---------------------------------------------------------------- Ruby and PHP network layers
S([=[Errno::EHOSTUNREACH|Errno::ENETUNREACH|Errno::EPIPE|Errno::ECONNABORTED]=], "unavailable")
S([=[Faraday::(?:ConnectionFailed|SSLError)\b]=], "unavailable")
S([=[Faraday::TimeoutError\b]=], "deadline_exceeded")
S([=[cURL error 28: ]=], "deadline_exceeded")
S([=[cURL error (?:6|7): ]=], "unavailable")
S([=[cURL error (?:35|51|58|60): ]=], "unavailable.tls")
S([=[GuzzleHttp\\Exception\\ConnectException\b]=], "unavailable")
S([=[SQLSTATE\[HY000\] \[2002\] (?:Connection refused|No such file or directory)]=], "unavailable")
S([=[SQLSTATE\[HY000\] \[1045\] Access denied]=], "unauthenticated")
S([=[SQLSTATE\[HY000\] \[2006\] MySQL server has gone away|SQLSTATE\[HY000\]: General error: 2006]=], "unavailable")

---------------------------------------------------------------- Kubernetes, Docker, registries
-- kubectl prints the API's StatusReason: "Error from server (NotFound): ..."
S([=[Error from server \(NotFound\)]=], "not_found")
S([=[Error from server \(AlreadyExists\)]=], "already_exists")
S([=[Error from server \(Forbidden\)]=], "permission_denied")
S([=[Error from server \(Unauthorized\)|You must be logged in to the server]=], "unauthenticated")
S([=[Error from server \(Conflict\)]=], "aborted")
S([=[Error from server \(BadRequest\)|Error from server \(Invalid\)]=], "invalid_argument")
S([=[Error from server \((?:Timeout|ServerTimeout)\)]=], "deadline_exceeded")
S([=[Error from server \(TooManyRequests\)]=], "resource_exhausted.rate_limited")
S([=[Error from server \(ServiceUnavailable\)|Error from server \(InternalError\)]=], "unavailable")
S([=[The connection to the server \S+ was refused]=], "unavailable")
S([=[exceeded quota: |forbidden: exceeded quota]=], "resource_exhausted.quota")
S([=[Cannot connect to the Docker daemon]=], "unavailable")
S([=[Error response from daemon: No such (?:container|image|volume|network)]=], "not_found")
S([=[Error response from daemon: Conflict\.]=], "already_exists")
S([=[pull access denied for|denied: requested access to the resource is denied]=], "permission_denied")
S([=[manifest unknown|manifest for \S+ not found]=], "not_found")
S([=[toomanyrequests: ]=], "resource_exhausted.rate_limited")
S([=[port is already allocated]=], "failed_precondition")

---------------------------------------------------------------- cloud command lines
-- gcloud prints the google.rpc.Code name: "ERROR: (gcloud.x.y) PERMISSION_DENIED: ..."
S([=[\(gcloud\.[\w.-]+\) (?:PERMISSION_DENIED|User \[[^\]]*\] does not have permission)]=], "permission_denied")
S([=[\(gcloud\.[\w.-]+\) NOT_FOUND]=], "not_found")
S([=[\(gcloud\.[\w.-]+\) ALREADY_EXISTS]=], "already_exists")
S([=[\(gcloud\.[\w.-]+\) (?:RESOURCE_EXHAUSTED|Quota exceeded)]=], "resource_exhausted")
S([=[\(gcloud\.[\w.-]+\) (?:INVALID_ARGUMENT|Invalid value for)]=], "invalid_argument")
S([=[\(gcloud\.[\w.-]+\) UNAUTHENTICATED|You do not currently have an active account selected|Reauthentication required]=], "unauthenticated")
S([=[\(gcloud\.[\w.-]+\) FAILED_PRECONDITION]=], "failed_precondition")
S([=[\(gcloud\.[\w.-]+\) UNAVAILABLE]=], "unavailable")
-- az prints ARM error codes: "(ResourceNotFound) ...", "Code: AuthorizationFailed"
S([=[\(ResourceNotFound\)|\(ResourceGroupNotFound\)|Code: ResourceNotFound]=], "not_found")
S([=[\(AuthorizationFailed\)|Code: AuthorizationFailed]=], "permission_denied")
S([=[\(InvalidAuthenticationToken\w*\)|Please run 'az login' to setup account|AADSTS\d+]=], "unauthenticated")
S([=[\(Conflict\)|Code: Conflict]=], "aborted")
S([=[\(QuotaExceeded\)|Code: QuotaExceeded|\(OperationNotAllowed\).{0,200}quota]=], "resource_exhausted.quota")
S([=[\(InvalidParameter\w*\)|\(BadRequest\)]=], "invalid_argument")
S([=[\(TooManyRequests\)|Code: TooManyRequests]=], "resource_exhausted.rate_limited")

---------------------------------------------------------------- package managers
S([=[npm ERR! code E404|npm error code E404|404 Not Found - GET https://registry]=], "not_found")
S([=[npm ERR! code ETARGET|No matching version found for]=], "not_found")
S([=[npm ERR! code ERESOLVE|unable to resolve dependency tree]=], "failed_precondition")
S([=[npm ERR! code (?:ECONNRESET|ETIMEDOUT|EAI_AGAIN)|npm error code (?:ECONNRESET|ETIMEDOUT|EAI_AGAIN)]=], "unavailable")
S([=[Could not find a version that satisfies the requirement|No matching distribution found for]=], "not_found")
S([=[error: externally-managed-environment]=], "failed_precondition")
S([=[E: Unable to locate package]=], "not_found")
S([=[E: Could not get lock|Could not get lock /var/lib/dpkg]=], "aborted")
S([=[E: Failed to fetch .{0,300}(?:Temporary failure resolving|Could not resolve)]=], "unavailable")

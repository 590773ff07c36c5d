# graphite-web settings of the graphite-statsd stand-in: everything under /opt/graphite/storage,
# the volume, as in graphiteapp/graphite-statsd. run.sh writes the secret key on first start.
SECRET_KEY = open('/opt/graphite/storage/.secret_key').read().strip()
ALLOWED_HOSTS = ['*']
TIME_ZONE = 'UTC'
GRAPHITE_ROOT = '/usr/share/graphite-web'
STATIC_ROOT = '/usr/share/graphite-web/static'
CONF_DIR = '/opt/graphite/conf'
STORAGE_DIR = '/opt/graphite/storage'
WHISPER_DIR = '/opt/graphite/storage/whisper'
STANDARD_DIRS = ['/opt/graphite/storage/whisper']
LOG_DIR = '/opt/graphite/storage/log/webapp'
INDEX_FILE = '/opt/graphite/storage/index'
DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': '/opt/graphite/storage/graphite.db'}}
CARBONLINK_HOSTS = ['127.0.0.1:7002']
DEFAULT_CACHE_DURATION = 0
FIND_CACHE_DURATION = 0
LOG_ROTATION = False
DEFAULT_XFILES_FACTOR = 0
FUNCTION_PLUGINS = []

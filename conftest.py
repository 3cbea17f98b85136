# nameko's tests hang unless eventlet patches the standard library before anything else imports it.
import eventlet

eventlet.monkey_patch()
